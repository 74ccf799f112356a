package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// Passkeys (WebAuthn through github.com/go-webauthn/webauthn). An account
// registers several, each discoverable (a resident key: the browser can
// offer it without being told the account) and each used only with user
// verification (a PIN or biometric on the authenticator), so one counts
// as both factors: sign-in with a passkey alone (passkeysignin.go). After
// a password, a passkey is the second factor instead of a TOTP code; an
// account with a passkey always needs a second factor after its password.
//
// Every ceremony's challenge is kept by the server (the ceremony store,
// ceremonies.go: the database, so any node finishes it), never by the
// browser: it is random (the library's 32 bytes), used once (taken out
// before its answer is checked, whatever the outcome), expires after
// ceremonyLifetime, and is bound to what began it: a registration to the
// account and the session that began it, a second factor to its sign-in
// challenge, a passkey sign-in to the token its begin returned. The
// relying party (RP ID and origin) comes from the server's public URL
// (httpapi) and is kept with the ceremony, so its answer is checked
// against the same one.
//
// Registering needs the password again (and a current code when TOTP is
// on), as turning two-factor off does: a stolen session alone cannot add
// a way in. The first second factor an account gets by a passkey comes
// with recovery codes, as TOTP's does, so losing the passkey does not
// lock its owner out.

const (
	// MaxPasskeys is how many passkeys one account may register.
	MaxPasskeys = 20
	// MaxPasskeyName is the longest passkey name, in characters.
	MaxPasskeyName = 64
	// ceremonyLifetime bounds every passkey ceremony.
	ceremonyLifetime = 5 * time.Minute
	// maxCeremonies bounds the ceremonies kept at once: beyond it, the
	// oldest are forgotten (their answers then fail as expired).
	maxCeremonies = 10000
)

// RelyingParty is what passkeys are bound to: the RP ID (the public
// URL's host name) and the one origin allowed to use them.
type RelyingParty struct {
	ID     string
	Origin string
}

// RelyingPartyFor returns the relying party of an origin
// ("https://meet.example.org").
func RelyingPartyFor(origin string) (RelyingParty, error) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
		return RelyingParty{}, fmt.Errorf("%w: %q is not an http(s) origin", ErrPasskeysUnavailable, origin)
	}
	id := strings.ToLower(u.Hostname())
	if err := protocol.ValidateRPID(id); err != nil {
		return RelyingParty{}, fmt.Errorf("%w: %q is not a domain passkeys can be bound to", ErrPasskeysUnavailable, id)
	}
	return RelyingParty{ID: id, Origin: u.Scheme + "://" + strings.ToLower(u.Host)}, nil
}

// webauthnFor is the library configured for rp.
func (s *Service) webauthnFor(rp RelyingParty) (*webauthn.WebAuthn, error) {
	if s.passkeys == nil || rp.ID == "" {
		return nil, ErrPasskeysUnavailable
	}
	return webauthn.New(&webauthn.Config{
		RPID:                  rp.ID,
		RPDisplayName:         "Kaigi",
		RPOrigins:             []string{rp.Origin},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ceremonyLifetime, TimeoutUVD: ceremonyLifetime},
			Registration: webauthn.TimeoutConfig{Timeout: ceremonyLifetime, TimeoutUVD: ceremonyLifetime},
		},
	})
}

// passkeyUser is an account as the library sees it. The user handle is
// the account ID (random, and nothing personal).
type passkeyUser struct {
	u     User
	creds []webauthn.Credential
}

func (p *passkeyUser) WebAuthnID() []byte                         { return []byte(p.u.ID) }
func (p *passkeyUser) WebAuthnName() string                       { return p.u.Email }
func (p *passkeyUser) WebAuthnDisplayName() string                { return p.u.Name }
func (p *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// loadPasskeyUser reads u's passkeys for the library.
func (s *Service) loadPasskeyUser(ctx context.Context, u User) (*passkeyUser, []Passkey, error) {
	keys, err := s.passkeys.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	pu := &passkeyUser{u: u}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal(k.Credential, &c); err != nil {
			return nil, nil, fmt.Errorf("passkey %s of %s: %w", PasskeyID(k.ID), u.ID, err)
		}
		pu.creds = append(pu.creds, c)
	}
	return pu, keys, nil
}

// PasskeyID is a credential ID as text (base64url), as the API names it.
func PasskeyID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// ParsePasskeyID reads a credential ID named by PasskeyID.
func ParsePasskeyID(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || len(b) > 1023 {
		return nil, ErrNotFound
	}
	return b, nil
}

// ceremonyKind says what a ceremony is for.
type ceremonyKind int

const (
	ceremonyRegister ceremonyKind = iota + 1
	ceremonySignIn
	ceremonySecondFactor
	ceremonyReauth
)

// ceremony is a passkey ceremony waiting for its answer, kept as JSON in
// the ceremony store (ceremonies.go).
type ceremony struct {
	Kind ceremonyKind `json:"kind"`
	// UserID is the account a registration or second factor is for;
	// Bound is the hash of what it is bound to (the session of a
	// registration, the sign-in challenge of a second factor).
	UserID string               `json:"user,omitempty"`
	Bound  []byte               `json:"bound,omitempty"`
	RP     RelyingParty         `json:"rp"`
	Data   webauthn.SessionData `json:"data"`
}

// putCeremony keeps c under a new token and returns the token.
func (s *Service) putCeremony(ctx context.Context, c *ceremony) (string, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	token := newToken()
	now := s.now()
	err = s.ceremonies.PutCeremony(ctx, Ceremony{Key: tokenHash(token), Family: FamilyPasskey, Data: raw,
		ExpiresAt: now.Add(ceremonyLifetime)}, maxCeremonies, now)
	return token, err
}

// takeCeremony takes the ceremony of token out (it is never answered
// twice) and returns it if it is of kind and has not expired.
func (s *Service) takeCeremony(ctx context.Context, token string, kind ceremonyKind) (*ceremony, error) {
	refused := fmt.Errorf("%w: the passkey request is unknown, used or expired", ErrPasskeyRefused)
	stored, err := s.ceremonies.TakeCeremony(ctx, FamilyPasskey, tokenHash(token), nil)
	if errors.Is(err, ErrNotFound) {
		return nil, refused
	}
	if err != nil {
		return nil, err
	}
	var c ceremony
	if err := json.Unmarshal(stored.Data, &c); err != nil {
		return nil, fmt.Errorf("read a passkey ceremony: %w", err)
	}
	if c.Kind != kind || s.now().After(stored.ExpiresAt) {
		return nil, refused
	}
	return &c, nil
}

// PasskeyRegistration is a registration begun: the options for the
// browser's navigator.credentials.create, and the token its answer is
// sent with.
type PasskeyRegistration struct {
	Token   string
	Options *protocol.CredentialCreation
}

// BeginPasskeyRegistration starts registering a passkey for the signed-in
// account u, after its password (and a current code or recovery code when
// TOTP is on) again. The ceremony is bound to u and its session.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, u User, session, password, code string, rp RelyingParty) (PasskeyRegistration, error) {
	wa, err := s.webauthnFor(rp)
	if err != nil {
		return PasskeyRegistration{}, err
	}
	if session == "" {
		return PasskeyRegistration{}, ErrNoSession
	}
	u, err = s.store.UserByID(ctx, u.ID)
	if err != nil {
		return PasskeyRegistration{}, err
	}
	if u, err = s.checkOwner(ctx, u, password, code); err != nil {
		return PasskeyRegistration{}, err
	}
	pu, _, err := s.loadPasskeyUser(ctx, u)
	if err != nil {
		return PasskeyRegistration{}, err
	}
	if len(pu.creds) >= MaxPasskeys {
		return PasskeyRegistration{}, ErrTooManyPasskeys
	}
	// The authenticators that hold one already are told so, and decline.
	exclude := make([]protocol.CredentialDescriptor, len(pu.creds))
	for i, c := range pu.creds {
		exclude[i] = c.Descriptor()
	}
	opts, data, err := wa.BeginRegistration(pu, webauthn.WithExclusions(exclude),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		return PasskeyRegistration{}, fmt.Errorf("begin passkey registration: %w", err)
	}
	token, err := s.putCeremony(ctx, &ceremony{Kind: ceremonyRegister, UserID: u.ID, Bound: tokenHash(session), RP: rp, Data: *data})
	if err != nil {
		return PasskeyRegistration{}, err
	}
	return PasskeyRegistration{Token: token, Options: opts}, nil
}

// PasskeyAdded is a passkey registered, with the recovery codes when it
// made the account's first second factor (shown once).
type PasskeyAdded struct {
	Passkey       Passkey
	RecoveryCodes []string
}

// FinishPasskeyRegistration checks the browser's answer (response, the
// PublicKeyCredential as JSON) to the registration of token, begun by u
// in session, and stores the passkey under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, u User, session, token, name string, response []byte) (PasskeyAdded, error) {
	name, err := normalisePasskeyName(name)
	if err != nil {
		return PasskeyAdded{}, err
	}
	c, err := s.takeCeremony(ctx, token, ceremonyRegister)
	if err != nil {
		return PasskeyAdded{}, err
	}
	if c.UserID != u.ID || session == "" || !bytes.Equal(c.Bound, tokenHash(session)) {
		return PasskeyAdded{}, fmt.Errorf("%w: the registration was begun by another session", ErrPasskeyRefused)
	}
	wa, err := s.webauthnFor(c.RP)
	if err != nil {
		return PasskeyAdded{}, err
	}
	u, err = s.store.UserByID(ctx, u.ID)
	if err != nil {
		return PasskeyAdded{}, err
	}
	pu, keys, err := s.loadPasskeyUser(ctx, u)
	if err != nil {
		return PasskeyAdded{}, err
	}
	if len(keys) >= MaxPasskeys {
		return PasskeyAdded{}, ErrTooManyPasskeys
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return PasskeyAdded{}, fmt.Errorf("%w: %v", ErrPasskeyRefused, err)
	}
	cred, err := wa.CreateCredential(pu, c.Data, parsed)
	if err != nil {
		s.log.Info("passkey registration refused", "user", u.ID, "err", err)
		return PasskeyAdded{}, fmt.Errorf("%w: %v", ErrPasskeyRefused, err)
	}
	if !cred.Flags.UserVerified {
		return PasskeyAdded{}, fmt.Errorf("%w: the authenticator did not verify its user", ErrPasskeyRefused)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return PasskeyAdded{}, err
	}
	p := Passkey{ID: cred.ID, UserID: u.ID, Name: name, Credential: raw, CreatedAt: s.now().UTC()}
	rec := s.passkeyEntry(audit.UserPasskeyAdded, u, p)
	if err := s.passkeys.AddPasskey(ctx, p, rec); err != nil {
		return PasskeyAdded{}, err
	}
	s.log.Info("passkey registered", "user", u.ID, "passkey", PasskeyID(p.ID)[:8])
	out := PasskeyAdded{Passkey: p}
	// The account's first second factor: recovery codes, as TOTP gives.
	if len(keys) == 0 && !u.TwoFactor() {
		if out.RecoveryCodes, err = s.replaceRecoveryCodes(ctx, u.ID); err != nil {
			return PasskeyAdded{}, err
		}
	}
	return out, nil
}

// passkeyEntry is the audit entry of u's own action on passkey p.
func (s *Service) passkeyEntry(action audit.Action, u User, p Passkey) audit.Entry {
	id := PasskeyID(p.ID)
	if len(id) > 16 {
		id = id[:16]
	}
	return audit.Entry{
		Time: s.now(), Action: action, ActorKind: audit.ActorUser, ActorID: u.ID,
		SubjectKind: audit.SubjectUser, SubjectID: u.ID,
		Details: map[string]string{"passkey": shortDetail(p.Name), "credential": id},
	}
}

// Passkeys lists u's passkeys.
func (s *Service) Passkeys(ctx context.Context, u User) ([]Passkey, error) {
	if s.passkeys == nil {
		return nil, nil
	}
	return s.passkeys.Passkeys(ctx, u.ID)
}

// CountPasskeys counts u's passkeys (none without a passkey store).
func (s *Service) CountPasskeys(ctx context.Context, u User) (int, error) {
	if s.passkeys == nil {
		return 0, nil
	}
	return s.passkeys.CountPasskeys(ctx, u.ID)
}

// RenamePasskey renames one of u's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, u User, id []byte, name string) error {
	if s.passkeys == nil {
		return ErrPasskeysUnavailable
	}
	name, err := normalisePasskeyName(name)
	if err != nil {
		return err
	}
	return s.passkeys.RenamePasskey(ctx, u.ID, id, name)
}

// DeletePasskey deletes one of u's passkeys after its password (and a
// current code when TOTP is on) again: a stolen session alone cannot take
// the second factor away. While the organisation requires passkeys, the
// last one stays.
func (s *Service) DeletePasskey(ctx context.Context, u User, id []byte, password, code string) error {
	if s.passkeys == nil {
		return ErrPasskeysUnavailable
	}
	u, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	p, err := s.passkeys.PasskeyByID(ctx, id)
	if err != nil || p.UserID != u.ID {
		return ErrNotFound
	}
	if u, err = s.checkOwner(ctx, u, password, code); err != nil {
		return err
	}
	org, err := s.store.Org(ctx)
	if err != nil {
		return err
	}
	// The last passkey stays while it is what the organisation requires:
	// a passkey, or two-factor of an account without an app.
	keepOne := org.RequirePasskeys || (org.Require2FA && !u.TwoFactor())
	if err := s.passkeys.DeletePasskey(ctx, u.ID, id, keepOne, s.passkeyEntry(audit.UserPasskeyDeleted, u, p)); err != nil {
		return err
	}
	s.log.Info("passkey deleted", "user", u.ID)
	// No second factor left: the recovery codes that went with the
	// passkeys go too, as turning TOTP off drops them.
	if n, err := s.passkeys.CountPasskeys(ctx, u.ID); err == nil && n == 0 && !u.TwoFactor() {
		return s.store.ReplaceRecoveryCodes(ctx, u.ID, nil)
	}
	return nil
}

// NeedsPasskey reports whether the organisation requires passkeys and u
// has none yet: then u may only register one (and sign out).
func (s *Service) NeedsPasskey(ctx context.Context, o Org, u User) (bool, error) {
	if !o.RequirePasskeys {
		return false, nil
	}
	n, err := s.CountPasskeys(ctx, u)
	return n == 0, err
}

// Requirements says what the organisation still requires of u before u
// may do anything but meet it: two-factor (an authenticator app, or a
// passkey, which is a second step after the password as well) and a
// passkey.
func (s *Service) Requirements(ctx context.Context, o Org, u User) (twoFactor, passkey bool, err error) {
	if !o.Require2FA && !o.RequirePasskeys {
		return false, false, nil
	}
	// The provider's sign-in stands for both for an account whose only
	// way in it is (sso.go).
	if byProvider, err := s.ssoSatisfiesRequirements(ctx, u); err != nil || byProvider {
		return false, false, err
	}
	n, err := s.CountPasskeys(ctx, u)
	if err != nil {
		return false, false, err
	}
	return o.Require2FA && !u.TwoFactor() && n == 0, o.RequirePasskeys && n == 0, nil
}

// checkRequirePasskeys refuses an administrator's turning on the
// requirement while they have no passkey themselves. (The operator's
// command line may: it is also the way back in.)
func (s *Service) checkRequirePasskeys(ctx context.Context, by User, after Org) error {
	if !after.RequirePasskeys {
		return nil
	}
	before, err := s.store.Org(ctx)
	if err != nil || before.RequirePasskeys {
		return err
	}
	if s.passkeys == nil {
		return ErrPasskeysUnavailable
	}
	n, err := s.passkeys.CountPasskeys(ctx, by.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrPasskeyFirst
	}
	return nil
}

// hasSecondFactor reports whether a password alone no longer signs u in:
// TOTP is on, or u has a passkey. passkey says whether it has one.
func (s *Service) hasSecondFactor(ctx context.Context, u User) (any, passkey bool, err error) {
	n, err := s.CountPasskeys(ctx, u)
	if err != nil {
		return false, false, err
	}
	return u.TwoFactor() || n > 0, n > 0, nil
}

// passkeyStore is st as a PasskeyStore, or nil when it is not one.
func passkeyStore(st Store) PasskeyStore {
	if p, ok := st.(PasskeyStore); ok {
		return p
	}
	return nil
}

// normalisePasskeyName trims a passkey's name and checks it.
func normalisePasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxPasskeyName || !utf8.ValidString(name) {
		return "", ErrBadPasskeyName
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", ErrBadPasskeyName
		}
	}
	return name, nil
}

// errPasskey wraps a library refusal as ErrPasskeyRefused.
func errPasskey(err error) error {
	if err == nil || errors.Is(err, ErrPasskeyRefused) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrPasskeyRefused, err)
}
