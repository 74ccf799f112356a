package auth

import (
	"context"
	"errors"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// SSOConfig is the organisation's OpenID Connect provider as stored
// (sso.go).
type SSOConfig struct {
	Enabled bool
	// Issuer is the provider's issuer URL: its discovery document is at
	// Issuer + "/.well-known/openid-configuration", and every ID token
	// must name it.
	Issuer   string
	ClientID string
	// ClientSecret is sealed with the server key under SSOSecretLabel +
	// SSORowID; empty for a public client (PKCE alone).
	ClientSecret []byte
	// Label is the provider's name on the sign-in button ("Sign in with
	// <Label>").
	Label string
	// Domains, when not empty, are the only e-mail domains whose people
	// may sign in through the provider (their e-mail verified by it).
	Domains []string
	// AllowCreate: a first sign-in with no linked account makes one.
	AllowCreate bool
	// LinkByEmail: a first sign-in whose e-mail the provider verified is
	// linked to the existing member account with that e-mail (never to an
	// administrator's).
	LinkByEmail bool
	// SSOOnly: members sign in through the provider only; passwords and
	// passkeys still sign administrators in (the way back in).
	SSOOnly   bool
	UpdatedAt time.Time
}

// SSOIdentity is a provider's identity linked to an account: the
// (issuer, subject) pair the provider names the person by.
type SSOIdentity struct {
	Issuer, Subject, UserID string
	// Created says the account was made by this identity's first sign-in:
	// no one knows a password for it.
	Created    bool
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// The label the client secret is sealed under, followed by SSORowID
// (store/keyrotation.go re-seals it on a key rotation).
const (
	SSOSecretLabel = "sso:"
	SSORowID       = "org"
)

// SSOStore keeps the provider and the linked identities. internal/store
// implements it; a Store that does not has no single sign-on.
type SSOStore interface {
	// SSOConfig returns the provider; ErrNotFound when none was saved.
	SSOConfig(ctx context.Context) (SSOConfig, error)
	// SetSSOConfig saves the provider and appends rec in the same
	// transaction.
	SetSSOConfig(ctx context.Context, c SSOConfig, rec audit.Entry) error
	// SSOIdentity finds a linked identity; ErrNotFound.
	SSOIdentity(ctx context.Context, issuer, subject string) (SSOIdentity, error)
	// UserSSOIdentities lists the identities linked to an account.
	UserSSOIdentities(ctx context.Context, userID string) ([]SSOIdentity, error)
	// LinkSSOIdentity stores id for an existing account and appends rec in
	// the same transaction: ErrSSOLinked when the pair is linked already,
	// ErrNotFound for an unknown account.
	LinkSSOIdentity(ctx context.Context, id SSOIdentity, rec audit.Entry) error
	// CreateSSOUser creates u with its identity id and appends rec, in one
	// transaction: ErrEmailTaken, ErrSSOLinked.
	CreateSSOUser(ctx context.Context, u User, id SSOIdentity, rec audit.Entry) error
	// UseSSOIdentity records a sign-in with an identity.
	UseSSOIdentity(ctx context.Context, issuer, subject string, at time.Time) error
}

// Single sign-on errors, each shown to the person as a sentence of its own
// (never the provider's words).
var (
	// ErrSSOUnavailable means no provider is configured and enabled.
	ErrSSOUnavailable = errors.New("single sign-on is not set up")
	// ErrSSOFlow means the sign-in's state is unknown, used, expired or
	// belongs to another browser.
	ErrSSOFlow = errors.New("single sign-on attempt unknown or expired")
	// ErrSSORefused means the provider's answer did not check out (the
	// code exchange failed, or the ID token's signature, issuer,
	// audience, expiry or nonce is wrong), or the person cancelled.
	ErrSSORefused = errors.New("single sign-on refused")
	// ErrSSOProvider means the provider could not be reached or its
	// discovery document read.
	ErrSSOProvider = errors.New("the single sign-on provider cannot be reached")
	// ErrSSONoAccount means no account is linked and the organisation
	// does not create accounts at first sign-in.
	ErrSSONoAccount = errors.New("no account for this single sign-on identity")
	// ErrSSODomain means the provider did not verify an e-mail in one of
	// the allowed domains (or at all, where one is needed).
	ErrSSODomain = errors.New("e-mail not verified or not in an allowed domain")
	// ErrSSOEmailTaken means an account has the identity's e-mail but may
	// not be linked to it (linking off, an administrator's account, or
	// linked to another identity of the provider).
	ErrSSOEmailTaken = errors.New("an account with this e-mail exists and is not linked")
	// ErrSSOSignInFirst means an account has the identity's e-mail, but
	// Kaigi cannot vouch that its maker owns the address (anyone may sign
	// up with any): its owner signs in to it and links the provider from
	// the account page.
	ErrSSOSignInFirst = errors.New("sign in to the account with this e-mail first, then link single sign-on")
	// ErrSSOLinkRefused means a signed-in account may not be linked to
	// the identity it came back with: the identity is another account's,
	// the account has another identity of the provider, or it is an
	// administrator's.
	ErrSSOLinkRefused = errors.New("this single sign-on identity cannot be linked to this account")
	// ErrSSOLinked means the identity is linked to an account already.
	ErrSSOLinked = errors.New("single sign-on identity already linked")
	// ErrSSOOnly means the organisation signs its members in through its
	// provider only.
	ErrSSOOnly = errors.New("the organisation signs in through single sign-on only")
	// ErrBadSSOConfig means the provider's settings are not acceptable;
	// a *SSOConfigError says which.
	ErrBadSSOConfig = errors.New("invalid single sign-on settings")
)

// SSOConfigError is an administrator's provider settings refused, with
// a sentence saying why.
type SSOConfigError struct{ Message string }

func (e *SSOConfigError) Error() string { return "invalid single sign-on settings: " + e.Message }

// Is makes errors.Is(err, ErrBadSSOConfig) hold.
func (e *SSOConfigError) Is(target error) bool { return target == ErrBadSSOConfig }

// ssoStore is st as an SSOStore, or nil.
func ssoStore(st Store) SSOStore {
	s, _ := st.(SSOStore)
	return s
}
