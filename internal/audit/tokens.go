package audit

// TokenCreated: an API token was made (details: id, kind personal or org,
// name, scopes, expires); TokenRevoked: one was revoked (details: id,
// kind, name). A personal token's subject is its account, an
// organisation token's the organisation. The token itself is never
// recorded.
const (
	TokenCreated Action = "token.created"
	TokenRevoked Action = "token.revoked"
)

// WebhookCreated, WebhookChanged, WebhookDeleted: an administrator
// registered a webhook, turned one off or on, or deleted one (details:
// id, host, events, enabled). The URL's path and query and the secret are
// never recorded.
const (
	WebhookCreated Action = "webhook.created"
	WebhookChanged Action = "webhook.changed"
	WebhookDeleted Action = "webhook.deleted"
)
