package auth

import (
	"context"
	"errors"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// Passkey is a WebAuthn credential an account registered (passkeys.go).
type Passkey struct {
	// ID is the credential ID the authenticator chose: unique across
	// every account.
	ID     []byte
	UserID string
	// Name is what its owner calls it ("Laptop", "Phone").
	Name string
	// Credential is the webauthn.Credential as JSON: the public key, the
	// sign count, the flags, the AAGUID and transports.
	Credential []byte
	CreatedAt  time.Time
	// LastUsedAt is zero until it is first used to sign in.
	LastUsedAt time.Time
}

// PasskeyStore keeps passkeys. internal/store implements it; a Store that
// does not has no passkeys (every passkey call is ErrPasskeysUnavailable).
type PasskeyStore interface {
	// AddPasskey stores p and appends rec in the same transaction; a
	// credential ID stored already (for any account) is
	// ErrPasskeyRegistered.
	AddPasskey(ctx context.Context, p Passkey, rec audit.Entry) error
	// Passkeys lists an account's passkeys, oldest first.
	Passkeys(ctx context.Context, userID string) ([]Passkey, error)
	// PasskeyByID finds a passkey by credential ID; ErrNotFound.
	PasskeyByID(ctx context.Context, id []byte) (Passkey, error)
	// CountPasskeys counts an account's passkeys.
	CountPasskeys(ctx context.Context, userID string) (int, error)
	// UsePasskey saves a passkey's credential after a sign-in with it
	// (its new sign count and flags) and when it was used.
	UsePasskey(ctx context.Context, id []byte, credential []byte, at time.Time) error
	// RenamePasskey renames one of an account's passkeys; ErrNotFound.
	RenamePasskey(ctx context.Context, userID string, id []byte, name string) error
	// DeletePasskey deletes one of an account's passkeys and appends rec
	// in the same transaction; ErrNotFound. With keepOne, deleting the
	// account's last passkey is refused (ErrPasskeyRequired), checked in
	// that transaction.
	DeletePasskey(ctx context.Context, userID string, id []byte, keepOne bool, rec audit.Entry) error
}

// Passkey errors.
var (
	// ErrPasskeyRegistered means the credential is registered already.
	ErrPasskeyRegistered = errors.New("passkey already registered")
	// ErrPasskeysUnavailable means this server cannot use passkeys (no
	// store for them, or no address browsers can bind them to).
	ErrPasskeysUnavailable = errors.New("passkeys are not available on this server")
	// ErrPasskeyRefused means a passkey's answer did not check out (wrong
	// origin or relying party, unknown or another account's credential,
	// no user verification, a bad signature, a clone), or its ceremony is
	// unknown, used or expired.
	ErrPasskeyRefused = errors.New("passkey refused")
	// ErrPasskeyRequired means the organisation requires a passkey: the
	// last one cannot be deleted, and an account without one must
	// register one first.
	ErrPasskeyRequired = errors.New("the organisation requires a passkey")
	// ErrPasskeyFirst means an administrator tried to require passkeys
	// without having one: they would be the first locked out of
	// everything but registering one.
	ErrPasskeyFirst = errors.New("register a passkey for your own account first")
	// ErrTooManyPasskeys means the account has MaxPasskeys already.
	ErrTooManyPasskeys = errors.New("too many passkeys")
	// ErrBadPasskeyName means a passkey's name is empty, too long or has
	// control characters.
	ErrBadPasskeyName = errors.New("invalid passkey name")
)
