package auth

import (
	"context"
	"time"
)

// Store is the persistence auth needs. internal/store implements it.
type Store interface {
	CountUsers(ctx context.Context) (int, error)
	// CreateUser fails with ErrEmailTaken for a taken e-mail.
	CreateUser(ctx context.Context, u User) error
	// UserByEmail and UserByID fail with ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	UpdateUser(ctx context.Context, u User) error
	// UseTOTPStep records that a TOTP code of step was accepted, if no code
	// of that step or a later one was before, in one atomic step; it
	// reports whether it did.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	ListUsers(ctx context.Context) ([]User, error)

	CreateSession(ctx context.Context, s Session) error
	// SessionByHash fails with ErrNotFound.
	SessionByHash(ctx context.Context, hash []byte) (Session, error)
	TouchSession(ctx context.Context, hash []byte, lastSeen time.Time) error
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteUserSessions(ctx context.Context, userID string) error

	// ReplaceRecoveryCodes stores a fresh set of code hashes, dropping the
	// old set.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error
	// UseRecoveryCode marks a code used and reports whether it was unused.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error)
	// RecoveryCodesLeft counts unused codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	Org(ctx context.Context) (Org, error)
	SetOrg(ctx context.Context, o Org) error
}

// Session is a signed-in browser.
type Session struct {
	Hash      []byte // SHA-256 of the token; the token is never stored
	UserID    string
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
}
