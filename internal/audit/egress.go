package audit

// EgressTokenCreated: a meeting's owner made a WHEP egress token, which
// lets a program watch the meeting (details: id, name);
// EgressTokenRevoked: one was revoked (details: id, name). The subject is
// the meeting. The token itself is never recorded.
const (
	EgressTokenCreated Action = "egress_token.created"
	EgressTokenRevoked Action = "egress_token.revoked"
)
