package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// Re-authentication ("sudo mode"): a session may take the actions that
// would let whoever holds it keep or widen access after it ends (creating
// API tokens and webhooks, linking a provider, the organisation's
// security settings, other accounts' credentials) only within
// ReauthWindow of its holder proving themselves: a full sign-in (the
// session starts inside the window), or the password again (with a code
// when TOTP is on), or one of the account's passkeys. A stolen session
// cookie alone does neither. An account whose only way in is the
// provider signs in through it again (a fresh session).

// ReauthWindow is how long after proving themselves a session's holder
// may take sensitive actions.
const ReauthWindow = 10 * time.Minute

// Re-authentication errors.
var (
	// ErrReauthRequired means the action needs a re-authentication within
	// ReauthWindow first.
	ErrReauthRequired = errors.New("confirm your identity again first")
	// ErrReauthPasskey means the account's second factor is its passkeys:
	// a password alone does not re-authenticate it, a passkey does.
	ErrReauthPasskey = errors.New("confirm with one of your passkeys")
)

// ReauthStore is what re-authentication needs of the store beside
// Store: internal/store implements it. Without it no session is ever
// recent past its sign-in.
type ReauthStore interface {
	// SetSessionReauth records that the session of hash re-authenticated
	// at at; ErrNotFound when it has ended.
	SetSessionReauth(ctx context.Context, hash []byte, at time.Time) error
}

// RecentlyAuthenticated reports whether the holder of session proved
// themselves within ReauthWindow.
func (s *Service) RecentlyAuthenticated(ctx context.Context, session string) (bool, error) {
	if session == "" {
		return false, nil
	}
	sess, err := s.store.SessionByHash(ctx, tokenHash(session))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if sess.ReauthAt.IsZero() {
		return false, nil
	}
	age := s.now().Sub(sess.ReauthAt)
	return age >= -time.Minute && age <= ReauthWindow, nil
}

// ReauthUntil is when the session's window closes (zero when it is not
// open), for the client to show.
func (s *Service) ReauthUntil(ctx context.Context, session string) (time.Time, error) {
	ok, err := s.RecentlyAuthenticated(ctx, session)
	if err != nil || !ok {
		return time.Time{}, err
	}
	sess, err := s.store.SessionByHash(ctx, tokenHash(session))
	if err != nil {
		return time.Time{}, err
	}
	return sess.ReauthAt.Add(ReauthWindow), nil
}

// recentReauth marks a request's context (WithRecentReauth).
type recentReauth struct{}

// WithRecentReauth returns ctx marked as a request from a session whose
// holder re-authenticated within ReauthWindow (the caller checked it with
// RecentlyAuthenticated). For an account made by single sign-on, which
// has a password no one knows, the steps that ask for the password again
// (registering or deleting a passkey, turning two-factor off, new
// recovery codes, deleting the account) take that instead when no
// password is sent: its owner proved themselves through the provider or a
// passkey moments ago.
func WithRecentReauth(ctx context.Context) context.Context {
	return context.WithValue(ctx, recentReauth{}, true)
}

// recentInstead reports whether u's password check may be skipped: no
// password was sent, u has no password its owner knows (its account was
// made by the provider), and the request's session re-authenticated
// recently. Without that last, such an account is told to re-authenticate
// (ErrReauthRequired) rather than that an empty password is wrong.
func (s *Service) recentInstead(ctx context.Context, u User, password string) (bool, error) {
	if password != "" {
		return false, nil
	}
	made, err := s.MadeByProvider(ctx, u)
	if err != nil || !made {
		return false, err
	}
	if ctx.Value(recentReauth{}) != true {
		return false, ErrReauthRequired
	}
	return true, nil
}

// MadeByProvider reports whether u was made by its first sign-in through
// the organisation's provider: no one knows its password.
func (s *Service) MadeByProvider(ctx context.Context, u User) (bool, error) {
	if s.sso == nil {
		return false, nil
	}
	ids, err := s.sso.UserSSOIdentities(ctx, u.ID)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if id.Created {
			return true, nil
		}
	}
	return false, nil
}

// Reauthenticate opens the window of u's session after its password (and
// a current code or recovery code when TOTP is on), checked against the
// account's own budget as changing the password is. An account whose
// only second factor is passkeys is told to use one (ErrReauthPasskey).
func (s *Service) Reauthenticate(ctx context.Context, u User, session, password, code string) error {
	if session == "" {
		return ErrNoSession
	}
	if password == "" {
		// Never the window itself standing in for the password
		// (recentInstead): that would keep it open for ever.
		return ErrBadCredentials
	}
	u, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	if !u.TwoFactor() {
		if n, err := s.CountPasskeys(ctx, u); err != nil {
			return err
		} else if n > 0 {
			return ErrReauthPasskey
		}
	}
	if _, err := s.checkOwner(ctx, u, password, code); err != nil {
		return err
	}
	return s.markReauth(ctx, u, session, "password")
}

func (s *Service) markReauth(ctx context.Context, u User, session, how string) error {
	rs, ok := s.store.(ReauthStore)
	if !ok {
		return ErrReauthRequired
	}
	if err := rs.SetSessionReauth(ctx, tokenHash(session), s.now().UTC()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNoSession
		}
		return err
	}
	s.log.Info("re-authenticated", "user", u.ID, "with", how)
	return nil
}

// BeginPasskeyReauth starts a passkey ceremony that re-authenticates u's
// session: only u's passkeys are asked for, with user verification, and
// the ceremony is bound to the session.
func (s *Service) BeginPasskeyReauth(ctx context.Context, u User, session string, rp RelyingParty) (PasskeyAssertion, error) {
	wa, err := s.webauthnFor(rp)
	if err != nil {
		return PasskeyAssertion{}, err
	}
	if session == "" {
		return PasskeyAssertion{}, ErrNoSession
	}
	return s.beginAccountPasskeys(ctx, wa, u, ceremonyReauth, tokenHash(session), rp) // passkeysignin.go
}

// FinishPasskeyReauth checks the answer to the ceremony of token, begun
// by u in session, and opens the session's window. A refused answer
// counts against the account's re-authentication budget.
func (s *Service) FinishPasskeyReauth(ctx context.Context, u User, session, token string, response []byte) error {
	if !s.reauth.Peek(u.ID) {
		return ErrRateLimited
	}
	cer, err := s.takeCeremony(ctx, token, ceremonyReauth)
	if err != nil {
		return err
	}
	if cer.UserID != u.ID || session == "" || !bytes.Equal(cer.Bound, tokenHash(session)) {
		return fmt.Errorf("%w: the passkey request belongs to another session", ErrPasskeyRefused)
	}
	refused := func(err error) error {
		s.reauth.Allow(u.ID)
		s.log.Info("passkey re-authentication refused", "user", u.ID, "err", err)
		return errPasskey(err)
	}
	u, err = s.store.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := s.answerAccountPasskeys(ctx, u, cer, response, "re-authentication"); err != nil {
		if errors.Is(err, ErrPasskeyRefused) {
			return refused(err)
		}
		return err
	}
	return s.markReauth(ctx, u, session, "passkey")
}
