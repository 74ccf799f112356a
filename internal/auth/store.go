package auth

import (
	"context"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// Store is the persistence auth needs. internal/store implements it.
type Store interface {
	CountUsers(ctx context.Context) (int, error)
	// CreateUser fails with ErrEmailTaken for a taken e-mail. A non-nil
	// rec is appended to the audit log in the same transaction.
	CreateUser(ctx context.Context, u User, rec *audit.Entry) error
	// UserByEmail and UserByID fail with ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	UpdateUser(ctx context.Context, u User) error
	// UseTOTPStep records that a TOTP code of step was accepted, if no code
	// of that step or a later one was before, in one atomic step; it
	// reports whether it did.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	ListUsers(ctx context.Context) ([]User, error)
	// SetSuspended suspends (at non-zero) or reinstates (at zero) an
	// account, ending every session of it either way; ResetTwoFactor turns
	// its two-factor off and drops its recovery codes; DeleteUser deletes
	// it with its sessions, codes and meetings. Each appends rec in the
	// same transaction and fails with ErrNotFound for an unknown account.
	// SetSuspended and DeleteUser check g in that same transaction.
	SetSuspended(ctx context.Context, userID string, at time.Time, reason string, g Guard, rec audit.Entry) error
	ResetTwoFactor(ctx context.Context, userID string, rec audit.Entry) error
	DeleteUser(ctx context.Context, userID string, g Guard, rec audit.Entry) error

	CreateSession(ctx context.Context, s Session) error
	// SessionByHash fails with ErrNotFound.
	SessionByHash(ctx context.Context, hash []byte) (Session, error)
	TouchSession(ctx context.Context, hash []byte, lastSeen time.Time) error
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteUserSessions(ctx context.Context, userID string) error
	// UserSessions lists an account's sessions (for its data export).
	UserSessions(ctx context.Context, userID string) ([]Session, error)

	// ReplaceRecoveryCodes stores a fresh set of code hashes, dropping the
	// old set.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error
	// UseRecoveryCode marks a code used and reports whether it was unused.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error)
	// RecoveryCodesLeft counts unused codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	// AuditEntries returns up to limit audit entries after seq after, in
	// order; AuditBefore up to limit before seq before, newest first;
	// AuditAboutUser the newest (up to limit) about an account or
	// a meeting it owns, newest first; AppendAudit records an action that
	// changes nothing else stored.
	AuditEntries(ctx context.Context, after int64, limit int) ([]audit.Entry, error)
	AuditBefore(ctx context.Context, before int64, limit int) ([]audit.Entry, error)
	AuditAboutUser(ctx context.Context, userID string, limit int) ([]audit.Entry, error)
	AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, error)
	// AppendAuditOnce appends e unless an entry of its action about its
	// subject was made at or after since (checked in the same
	// transaction), and reports whether it did.
	AppendAuditOnce(ctx context.Context, e audit.Entry, since time.Time) (audit.Entry, bool, error)

	Org(ctx context.Context) (Org, error)
	// SetOrg saves the policy and appends rec to the audit log in the
	// same transaction.
	SetOrg(ctx context.Context, o Org, rec audit.Entry) error
}

// Guard is what the store checks inside the transaction of an action
// on an account, so that two actions at once cannot both pass a check
// made before either.
type Guard struct {
	// KeepAdmin refuses with ErrLastAdmin when the account is an admin
	// who is not suspended and no other such admin would remain.
	KeepAdmin bool
	// Admin, when not empty, is the admin account taking the action: it
	// is refused with ErrForbidden unless that account still exists, is
	// an admin and is not suspended.
	Admin string
}

// Session is a signed-in browser.
type Session struct {
	Hash      []byte // SHA-256 of the token; the token is never stored
	UserID    string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
	// ReauthAt is when its holder last proved themselves: a full sign-in,
	// or the password, code or a passkey again (reauth.go); zero: never.
	ReauthAt time.Time
}
