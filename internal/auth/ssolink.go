package auth

import (
	"context"
	"errors"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// Linking a provider's identity to an account its owner is signed in to.
// Linking by e-mail alone (ssoflow.go) is kept for accounts whose e-mail
// Kaigi can vouch for; every other owner proves control of the account
// by its session (and a recent re-authentication, which the caller
// checks: a stolen session must not add a way in) and of the identity by
// the provider's sign-in, in one flow bound to one browser.

// BeginSSOLink starts a sign-in through the provider that links the
// identity it comes back with to the signed-in account u.
func (s *Service) BeginSSOLink(ctx context.Context, u User, ip, redirect string) (SSOStart, error) {
	if u.ID == "" {
		return SSOStart{}, ErrNoSession
	}
	return s.beginSSO(ctx, ip, redirect, u.ID)
}

// ssoLink links (issuer, subject) to the account userID that began the
// flow, and returns that account. The identity may already be linked to
// it (then nothing changes); never to another account, never to an
// administrator's (whoever controls the provider must not become a Kaigi
// administrator), and an account has at most one identity per provider.
func (s *Service) ssoLink(ctx context.Context, c SSOConfig, claims ssoClaims, issuer, subject, userID string) (User, error) {
	email, emailErr := normaliseEmail(claims.Email)
	if len(c.Domains) > 0 && !(emailErr == nil && claims.verified() && inDomains(email, c.Domains)) {
		return User{}, ErrSSODomain
	}
	u, err := s.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrSSOFlow
	}
	if err != nil {
		return User{}, err
	}
	if u.Suspended() {
		return User{}, &SuspendedError{Reason: u.SuspendReason}
	}
	id, err := s.sso.SSOIdentity(ctx, issuer, subject)
	if err == nil {
		if id.UserID != u.ID {
			return User{}, ErrSSOLinkRefused
		}
		return u, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	if u.Role == RoleAdmin {
		return User{}, ErrSSOLinkRefused
	}
	linked, err := s.sso.UserSSOIdentities(ctx, u.ID)
	if err != nil {
		return User{}, err
	}
	for _, l := range linked {
		if l.Issuer == issuer {
			return User{}, ErrSSOLinkRefused
		}
	}
	rec := s.ssoEntry(audit.UserSSOLinked, u, issuer)
	rec.Details["by"] = "sign-in"
	if err := s.sso.LinkSSOIdentity(ctx, SSOIdentity{Issuer: issuer, Subject: subject, UserID: u.ID, CreatedAt: s.now().UTC()}, rec); err != nil {
		if errors.Is(err, ErrSSOLinked) {
			return User{}, ErrSSOLinkRefused
		}
		return User{}, err
	}
	s.log.Info("single sign-on identity linked by its signed-in owner", "user", u.ID)
	return u, nil
}
