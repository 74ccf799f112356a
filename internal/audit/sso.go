package audit

// Single sign-on (internal/auth/sso.go): an administrator changed the
// organisation's OpenID Connect provider (the details name the fields
// that changed, never the client secret's value); a person signed in
// through it; a first sign-in made an account, or linked the provider's
// identity to an existing account by its verified e-mail. The actor and
// subject of the last three are the account; their details name the
// provider's issuer, never a token.
const (
	OrgSSOChanged  Action = "org.sso_changed"
	UserSSOCreated Action = "user.sso_created"
	UserSSOLinked  Action = "user.sso_linked"
	UserSSOSignIn  Action = "user.sso_sign_in"
)
