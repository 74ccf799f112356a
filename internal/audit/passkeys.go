package audit

// Passkeys (internal/auth/passkeys.go): an account's owner registered or
// deleted one, or signed in with one alone. The actor and subject are
// the account; the details name the passkey (its name, and the first
// characters of its credential ID), never a key.
const (
	UserPasskeyAdded   Action = "user.passkey_added"
	UserPasskeyDeleted Action = "user.passkey_deleted"
	UserPasskeySignIn  Action = "user.passkey_sign_in"
)
