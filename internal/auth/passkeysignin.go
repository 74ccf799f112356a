package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// Signing in with a passkey: alone (discoverable: the browser offers the
// passkeys it holds for this server, and the answer names the account),
// or as the second factor after the password. Both are counted against
// the address like every sign-in step (admitAddress), and a second
// factor's refusals against its sign-in challenge like wrong codes.

// PasskeyAssertion is a passkey sign-in begun: the options for the
// browser's navigator.credentials.get, and the token its answer is sent
// with.
type PasskeyAssertion struct {
	Token   string
	Options *protocol.CredentialAssertion
}

// BeginPasskeySignIn starts a sign-in with a passkey alone.
func (s *Service) BeginPasskeySignIn(ctx context.Context, ip string, rp RelyingParty) (PasskeyAssertion, error) {
	wa, err := s.webauthnFor(rp)
	if err != nil {
		return PasskeyAssertion{}, err
	}
	if err := s.admitAddress(ip); err != nil {
		return PasskeyAssertion{}, err
	}
	opts, data, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return PasskeyAssertion{}, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	token, err := s.putCeremony(ctx, &ceremony{Kind: ceremonySignIn, RP: rp, Data: *data})
	if err != nil {
		return PasskeyAssertion{}, err
	}
	return PasskeyAssertion{Token: token, Options: opts}, nil
}

// FinishPasskeySignIn checks the browser's answer (the
// PublicKeyCredential as JSON) to the passkey sign-in of token and signs
// its account in: the passkey, verified by its user, is both factors.
// devices are the request's known-device cookie values.
func (s *Service) FinishPasskeySignIn(ctx context.Context, token string, response []byte, ip string, devices ...string) (SignInResult, error) {
	if err := s.admitAddress(ip); err != nil {
		return SignInResult{}, err
	}
	c, err := s.takeCeremony(ctx, token, ceremonySignIn)
	if err != nil {
		return SignInResult{}, err
	}
	wa, err := s.webauthnFor(c.RP)
	if err != nil {
		return SignInResult{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return SignInResult{}, errPasskey(err)
	}
	var owner *passkeyUser
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		p, err := s.passkeys.PasskeyByID(ctx, rawID)
		if err != nil {
			return nil, err
		}
		// The account the authenticator names must be the passkey's.
		if string(userHandle) != p.UserID {
			return nil, errors.New("the user handle is not the passkey's account")
		}
		u, err := s.store.UserByID(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		if owner, _, err = s.loadPasskeyUser(ctx, u); err != nil {
			return nil, err
		}
		return owner, nil
	}
	cred, err := wa.ValidateDiscoverableLogin(handler, c.Data, parsed)
	if err != nil {
		s.log.Info("passkey sign-in refused", "remote", ip, "err", err)
		return SignInResult{}, errPasskey(err)
	}
	u := owner.u
	if u.Suspended() {
		s.log.Info("sign-in refused: account suspended", "user", u.ID)
		return SignInResult{}, &SuspendedError{Reason: u.SuspendReason}
	}
	if err := s.ssoOnlyRefuses(ctx, u); err != nil { // sso.go
		return SignInResult{}, err
	}
	if err := s.passkeyUsed(ctx, u, cred, "alone"); err != nil {
		return SignInResult{}, err
	}
	session, err := s.newSession(ctx, u.ID)
	if err != nil {
		return SignInResult{}, err
	}
	s.log.Info("signed in", "user", u.ID, "remote", ip, "passkey", true)
	return SignInResult{User: u, Token: session, Device: s.deviceCookie(u, parseDeviceTokens(devices))}, nil
}

// passkeyUsed saves a passkey after it signed u in (its sign count and
// flags), refusing it when the library saw its sign count fail to move
// forward: two copies of its key may exist (a cloned authenticator). An
// authenticator that counts nothing (always 0, as synced passkeys do) is
// never taken for a clone. how says in what role it was used ("alone" or
// "second factor"), for the audit entry.
func (s *Service) passkeyUsed(ctx context.Context, u User, cred *webauthn.Credential, how string) error {
	if cred.Authenticator.CloneWarning {
		s.log.Warn("passkey refused: its sign count went back (a cloned authenticator?)", "user", u.ID, "passkey", PasskeyID(cred.ID)[:8])
		return fmt.Errorf("%w: its sign count did not go forward", ErrPasskeyRefused)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	if err := s.passkeys.UsePasskey(ctx, cred.ID, raw, s.now().UTC()); err != nil {
		return err
	}
	p, err := s.passkeys.PasskeyByID(ctx, cred.ID)
	if err != nil {
		return err
	}
	rec := s.passkeyEntry(audit.UserPasskeySignIn, u, p)
	rec.Details["as"] = how
	_, err = s.store.AppendAudit(ctx, rec)
	return err
}

// BeginPasskeySecondFactor starts the second step of a sign-in (the
// challenge its password step returned) with one of the account's
// passkeys instead of a code.
func (s *Service) BeginPasskeySecondFactor(ctx context.Context, challengeToken, ip string, rp RelyingParty) (PasskeyAssertion, error) {
	wa, err := s.webauthnFor(rp)
	if err != nil {
		return PasskeyAssertion{}, err
	}
	if err := s.admitAddress(ip); err != nil {
		return PasskeyAssertion{}, err
	}
	key := string(tokenHash(challengeToken))
	_, u, err := s.pendingSignIn(ctx, key)
	if err != nil {
		return PasskeyAssertion{}, err
	}
	return s.beginAccountPasskeys(ctx, wa, u, ceremonySecondFactor, []byte(key), rp)
}

// beginAccountPasskeys starts a ceremony of kind asking for one of u's
// passkeys (allowCredentials lists them; user verification required),
// bound to bound.
func (s *Service) beginAccountPasskeys(ctx context.Context, wa *webauthn.WebAuthn, u User, kind ceremonyKind, bound []byte, rp RelyingParty) (PasskeyAssertion, error) {
	pu, _, err := s.loadPasskeyUser(ctx, u)
	if err != nil {
		return PasskeyAssertion{}, err
	}
	if len(pu.creds) == 0 {
		return PasskeyAssertion{}, fmt.Errorf("%w: the account has no passkey", ErrPasskeyRefused)
	}
	opts, data, err := wa.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return PasskeyAssertion{}, fmt.Errorf("begin a passkey ceremony: %w", err)
	}
	token, err := s.putCeremony(ctx, &ceremony{Kind: kind, UserID: u.ID, Bound: bound, RP: rp, Data: *data})
	if err != nil {
		return PasskeyAssertion{}, err
	}
	return PasskeyAssertion{Token: token, Options: opts}, nil
}

// answerAccountPasskeys checks the answer (response) to cer, a ceremony
// begun by beginAccountPasskeys for u, and records the passkey's use as
// how. A refused answer is ErrPasskeyRefused (the caller counts it);
// anything else is the server's failure.
func (s *Service) answerAccountPasskeys(ctx context.Context, u User, cer *ceremony, response []byte, how string) error {
	wa, err := s.webauthnFor(cer.RP)
	if err != nil {
		return err
	}
	pu, _, err := s.loadPasskeyUser(ctx, u)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return errPasskey(err)
	}
	cred, err := wa.ValidateLogin(pu, cer.Data, parsed)
	if err != nil {
		return errPasskey(err)
	}
	return s.passkeyUsed(ctx, u, cred, how)
}

// FinishPasskeySecondFactor completes a sign-in's second step with the
// browser's answer to the passkey ceremony of token, begun for the
// sign-in challenge challengeToken. A refused answer counts as a wrong
// code against the challenge.
func (s *Service) FinishPasskeySecondFactor(ctx context.Context, challengeToken, token string, response []byte, ip string, devices ...string) (SignInResult, error) {
	if err := s.admitAddress(ip); err != nil {
		return SignInResult{}, err
	}
	cer, err := s.takeCeremony(ctx, token, ceremonySecondFactor)
	if err != nil {
		return SignInResult{}, err
	}
	key := string(tokenHash(challengeToken))
	if string(cer.Bound) != key {
		return SignInResult{}, fmt.Errorf("%w: the passkey request belongs to another sign-in", ErrPasskeyRefused)
	}
	_, u, err := s.pendingSignIn(ctx, key)
	if err != nil {
		return SignInResult{}, err
	}
	refused := func(err error) (SignInResult, error) {
		s.log.Info("passkey second factor refused", "user", u.ID, "remote", ip, "err", err)
		if ended := s.failedChallenge(ctx, key); ended != nil {
			return SignInResult{}, ended
		}
		return SignInResult{}, errPasskey(err)
	}
	if err := s.answerAccountPasskeys(ctx, u, cer, response, "second factor"); err != nil {
		if errors.Is(err, ErrPasskeyRefused) {
			return refused(err)
		}
		return SignInResult{}, err
	}
	if !s.endChallenge(ctx, key) {
		return SignInResult{}, ErrChallengeExpired
	}
	session, err := s.newSession(ctx, u.ID)
	if err != nil {
		return SignInResult{}, err
	}
	s.log.Info("signed in", "user", u.ID, "remote", ip, "second_factor", "passkey")
	return SignInResult{User: u, Token: session, Device: s.deviceCookie(u, parseDeviceTokens(devices))}, nil
}
