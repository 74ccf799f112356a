package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// The single sign-on flow (OpenID Connect's authorization code flow with
// PKCE): BeginSSO keeps the flow's state, nonce and PKCE verifier here,
// bound to the browser by a token the caller sets as a short-lived
// HttpOnly cookie, and sends the browser to the provider; FinishSSO takes
// the flow back by its state, checks the cookie's token, exchanges the
// code, has go-oidc verify the ID token (signature by the provider's
// JWKS, issuer, audience, expiry), checks the nonce, and signs the
// account in. Both steps count against the address like every sign-in.
//
// Flows are kept in the ceremony store (ceremonies.go), as passkey
// ceremonies are: in a cluster sharing the database, the callback may
// reach any node.

const (
	// ssoFlowLifetime bounds the time at the provider.
	ssoFlowLifetime = 10 * time.Minute
	// maxSSOFlows bounds the flows kept at once (each needs a sign-in
	// attempt the address limit allowed); beyond it the oldest goes.
	maxSSOFlows = 10000
	// ssoProviderTTL is how long a provider's discovery document is
	// used before it is read again.
	ssoProviderTTL = time.Hour
	// ssoHTTPTimeout bounds each request to the provider.
	ssoHTTPTimeout = 10 * time.Second
)

// ssoState is the Service's single sign-on state: the providers read.
type ssoState struct {
	mu        sync.Mutex
	providers map[string]cachedProvider
	client    *http.Client
}

// ssoFlow is a sign-in through the provider under way, kept as JSON in
// the ceremony store by the hash of its state and bound to the hash of
// the browser's flow cookie.
type ssoFlow struct {
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Issuer   string `json:"issuer"`
	ClientID string `json:"client"`
	Redirect string `json:"redirect"`
	// LinkUser, when set, is the signed-in account that began the flow to
	// link the provider's identity to itself (BeginSSOLink): its owner proved
	// control of it by the session that began the flow.
	LinkUser string `json:"link,omitempty"`
}

type cachedProvider struct {
	p       *oidc.Provider
	fetched time.Time
}

func newSSOState() *ssoState {
	return &ssoState{providers: map[string]cachedProvider{},
		client: &http.Client{Timeout: ssoHTTPTimeout, Transport: limitedAnswers{http.DefaultTransport}}}
}

// maxSSOAnswer bounds each answer read from the provider (discovery
// document, JWKS, token response): go-oidc reads them whole, and a
// provider's are a few kilobytes.
const maxSSOAnswer = 1 << 20

// limitedAnswers is a transport whose answers' bodies fail beyond
// maxSSOAnswer bytes.
type limitedAnswers struct{ next http.RoundTripper }

func (l limitedAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err == nil {
		resp.Body = http.MaxBytesReader(nil, resp.Body, maxSSOAnswer)
	}
	return resp, err
}

// oidcProvider returns the provider of issuer, reading its discovery
// document when it was not read in the last hour (or fresh is set).
// go-oidc checks that the document names issuer.
func (s *Service) oidcProvider(ctx context.Context, issuer string, fresh bool) (*oidc.Provider, error) {
	st := s.ssoState
	st.mu.Lock()
	c, ok := st.providers[issuer]
	st.mu.Unlock()
	if ok && !fresh && s.now().Sub(c.fetched) < ssoProviderTTL {
		return c.p, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, st.client), issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSSOProvider, err)
	}
	// Every endpoint it names must be https (http only to this machine),
	// as the issuer must: go-oidc takes them as they come, and a plain
	// http token endpoint or JWKS (a provider behind a TLS proxy it does
	// not know of) would hand the secret and the keys Kaigi trusts to
	// the network.
	var meta struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSSOProvider, err)
	}
	for _, e := range []string{p.Endpoint().AuthURL, p.Endpoint().TokenURL, meta.JWKS} {
		u, err := url.Parse(e)
		if err != nil || !(u.Scheme == "https" || (u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
			return nil, fmt.Errorf("%w: the discovery document names %q, not an https endpoint", ErrSSOProvider, e)
		}
	}
	st.mu.Lock()
	st.providers[issuer] = cachedProvider{p: p, fetched: s.now()}
	st.mu.Unlock()
	return p, nil
}

// SSOStart is a sign-in through the provider begun: where to send the
// browser, and the token to keep in its flow cookie.
type SSOStart struct {
	URL     string
	Binding string
}

// BeginSSO starts a sign-in through the organisation's provider.
// redirect is the callback URL registered at the provider.
func (s *Service) BeginSSO(ctx context.Context, ip, redirect string) (SSOStart, error) {
	return s.beginSSO(ctx, ip, redirect, "")
}

// beginSSO starts a sign-in through the provider; with linkUser, one that
// links the provider's identity to that (signed-in) account (ssolink.go).
func (s *Service) beginSSO(ctx context.Context, ip, redirect, linkUser string) (SSOStart, error) {
	if err := s.admitAddress(ip); err != nil {
		return SSOStart{}, err
	}
	c, err := s.ssoConfig(ctx)
	if err != nil {
		return SSOStart{}, err
	}
	if !c.Enabled {
		return SSOStart{}, ErrSSOUnavailable
	}
	p, err := s.oidcProvider(ctx, c.Issuer, false)
	if err != nil {
		return SSOStart{}, err
	}
	state, binding, nonce, verifier := newToken(), newToken(), newToken(), oauth2.GenerateVerifier()
	oc := oauth2.Config{ClientID: c.ClientID, Endpoint: p.Endpoint(), RedirectURL: redirect,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	// Full: the oldest flow gives way (its callback fails as expired), as
	// passkey ceremonies do, so flows begun and abandoned from many
	// addresses cannot shut single sign-on for everyone.
	f := ssoFlow{Nonce: nonce, Verifier: verifier, Issuer: c.Issuer, ClientID: c.ClientID, Redirect: redirect, LinkUser: linkUser}
	raw, err := json.Marshal(f)
	if err != nil {
		return SSOStart{}, err
	}
	now := s.now()
	if err := s.ceremonies.PutCeremony(ctx, Ceremony{Key: tokenHash(state), Family: FamilySSO, Bind: tokenHash(binding),
		Data: raw, ExpiresAt: now.Add(ssoFlowLifetime)}, maxSSOFlows, now); err != nil {
		return SSOStart{}, err
	}
	url := oc.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return SSOStart{URL: url, Binding: binding}, nil
}

// takeSSOFlow removes and returns the flow of state, if the browser's
// binding token is its own and it has not expired. A stranger's callback
// with a leaked state finds nothing and cannot spend it.
func (s *Service) takeSSOFlow(ctx context.Context, state, binding string) (*ssoFlow, error) {
	stored, err := s.ceremonies.TakeCeremony(ctx, FamilySSO, tokenHash(state), tokenHash(binding))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrSSOFlow
	}
	if err != nil {
		return nil, err
	}
	if s.now().After(stored.ExpiresAt) {
		return nil, ErrSSOFlow
	}
	var f ssoFlow
	if err := json.Unmarshal(stored.Data, &f); err != nil {
		return nil, fmt.Errorf("read a single sign-on flow: %w", err)
	}
	return &f, nil
}

// ssoClaims are the ID token's claims Kaigi reads.
type ssoClaims struct {
	Email             string          `json:"email"`
	EmailVerified     json.RawMessage `json:"email_verified"`
	Name              string          `json:"name"`
	PreferredUsername string          `json:"preferred_username"`
}

// verified reads email_verified, a boolean (or, from some providers, the
// string "true").
func (c ssoClaims) verified() bool {
	v := strings.Trim(string(c.EmailVerified), `"`)
	return v == "true"
}

// FinishSSO completes a sign-in through the provider: state and code are
// the callback's parameters, binding the browser's flow cookie. The
// provider's error (the person cancelled, say) is providerError.
func (s *Service) FinishSSO(ctx context.Context, binding, state, code, providerError, ip string) (SignInResult, error) {
	if err := s.admitAddress(ip); err != nil {
		return SignInResult{}, err
	}
	f, err := s.takeSSOFlow(ctx, state, binding)
	if err != nil {
		return SignInResult{}, err
	}
	if providerError != "" {
		s.log.Info("single sign-on refused by the provider", "remote", ip, "error", shortDetail(providerError))
		return SignInResult{}, fmt.Errorf("%w: the provider answered %q", ErrSSORefused, shortDetail(providerError))
	}
	c, err := s.ssoConfig(ctx)
	if err != nil {
		return SignInResult{}, err
	}
	if !c.Enabled {
		return SignInResult{}, ErrSSOUnavailable
	}
	if c.Issuer != f.Issuer || c.ClientID != f.ClientID {
		return SignInResult{}, fmt.Errorf("%w: the provider's settings changed during the sign-in", ErrSSOFlow)
	}
	claims, issuer, subject, err := s.exchangeSSO(ctx, c, f, code)
	if err != nil {
		s.log.Info("single sign-on refused", "remote", ip, "err", err)
		return SignInResult{}, err
	}
	var u User
	if f.LinkUser != "" {
		u, err = s.ssoLink(ctx, c, claims, issuer, subject, f.LinkUser)
	} else {
		u, err = s.ssoAccount(ctx, c, claims, issuer, subject)
	}
	if err != nil {
		s.log.Info("single sign-on refused", "remote", ip, "err", err)
		return SignInResult{}, err
	}
	if u.Suspended() {
		s.log.Info("sign-in refused: account suspended", "user", u.ID)
		return SignInResult{}, &SuspendedError{Reason: u.SuspendReason}
	}
	now := s.now().UTC()
	if err := s.sso.UseSSOIdentity(ctx, issuer, subject, now); err != nil {
		return SignInResult{}, err
	}
	if _, err := s.store.AppendAudit(ctx, s.ssoEntry(audit.UserSSOSignIn, u, issuer)); err != nil {
		return SignInResult{}, err
	}
	token, err := s.newSession(ctx, u.ID)
	if err != nil {
		return SignInResult{}, err
	}
	s.log.Info("signed in", "user", u.ID, "remote", ip, "sso", true)
	return SignInResult{User: u, Token: token, Linked: f.LinkUser != ""}, nil
}

// exchangeSSO exchanges the code (with the flow's PKCE verifier) and
// verifies the ID token: go-oidc checks its signature against the
// provider's JWKS, its issuer, audience and expiry; the nonce is checked
// here.
func (s *Service) exchangeSSO(ctx context.Context, c SSOConfig, f *ssoFlow, code string) (ssoClaims, string, string, error) {
	var claims ssoClaims
	if code == "" {
		return claims, "", "", fmt.Errorf("%w: no code", ErrSSORefused)
	}
	p, err := s.oidcProvider(ctx, c.Issuer, false)
	if err != nil {
		return claims, "", "", err
	}
	var secret string
	if len(c.ClientSecret) > 0 {
		plain, err := s.sealer.Open(c.ClientSecret, SSOSecretLabel+SSORowID)
		if err != nil {
			return claims, "", "", fmt.Errorf("unseal the single sign-on client secret: %w", err)
		}
		secret = string(plain)
	}
	oc := oauth2.Config{ClientID: c.ClientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: f.Redirect,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	hctx := oidc.ClientContext(ctx, s.ssoState.client)
	tok, err := oc.Exchange(hctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		// The provider's words go to the log, not to the person (nor the
		// secret: oauth2's errors carry the response, not the request).
		return claims, "", "", fmt.Errorf("%w: code exchange: %v", ErrSSORefused, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return claims, "", "", fmt.Errorf("%w: no ID token", ErrSSORefused)
	}
	idt, err := p.VerifierContext(hctx, &oidc.Config{ClientID: c.ClientID, Now: s.now}).Verify(hctx, raw)
	if err != nil {
		return claims, "", "", fmt.Errorf("%w: ID token: %v", ErrSSORefused, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return claims, "", "", fmt.Errorf("%w: ID token: wrong nonce", ErrSSORefused)
	}
	if idt.Subject == "" || len(idt.Subject) > 255 {
		return claims, "", "", fmt.Errorf("%w: ID token: no usable subject", ErrSSORefused)
	}
	if err := idt.Claims(&claims); err != nil {
		return claims, "", "", fmt.Errorf("%w: ID token claims: %v", ErrSSORefused, err)
	}
	return claims, idt.Issuer, idt.Subject, nil
}

// ssoAccount finds the account of (issuer, subject), or links or makes
// one as the settings allow.
func (s *Service) ssoAccount(ctx context.Context, c SSOConfig, claims ssoClaims, issuer, subject string) (User, error) {
	email, emailErr := normaliseEmail(claims.Email)
	domainOK := emailErr == nil && claims.verified() && inDomains(email, c.Domains)
	id, err := s.sso.SSOIdentity(ctx, issuer, subject)
	if err == nil {
		if len(c.Domains) > 0 && !domainOK {
			return User{}, ErrSSODomain
		}
		return s.store.UserByID(ctx, id.UserID)
	}
	if !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	// A first sign-in: an e-mail the provider verified is needed, to link
	// by or to make the account with.
	if !domainOK {
		return User{}, ErrSSODomain
	}
	now := s.now().UTC()
	id = SSOIdentity{Issuer: issuer, Subject: subject, CreatedAt: now}
	existing, err := s.store.UserByEmail(ctx, email)
	if err == nil {
		if !c.LinkByEmail || existing.Role == RoleAdmin {
			return User{}, ErrSSOEmailTaken
		}
		// Anyone may sign up with someone else's address: an e-mail Kaigi
		// cannot vouch for links nothing, or whoever made the account
		// would keep its password beside the provider (account
		// pre-hijacking). Its owner signs in to it first and links the
		// provider from there (BeginSSOLink), proving control of both.
		if !existing.EmailVerified {
			s.log.Info("single sign-on not linked by e-mail: the account's e-mail was not vouched for", "user", existing.ID)
			return User{}, ErrSSOSignInFirst
		}
		linked, err := s.sso.UserSSOIdentities(ctx, existing.ID)
		if err != nil {
			return User{}, err
		}
		for _, l := range linked {
			if l.Issuer == issuer {
				return User{}, ErrSSOEmailTaken
			}
		}
		id.UserID = existing.ID
		if err := s.sso.LinkSSOIdentity(ctx, id, s.ssoEntry(audit.UserSSOLinked, existing, issuer)); err != nil {
			return User{}, err
		}
		s.log.Info("single sign-on identity linked", "user", existing.ID)
		return existing, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	if !c.AllowCreate {
		return User{}, ErrSSONoAccount
	}
	name := ssoName(claims, email)
	// A password no one knows: the account signs in through the provider
	// (or a passkey its owner registers).
	u := User{ID: newID(), Email: email, Name: name, Role: RoleMember, PasswordHash: s.hashPassword(newToken()), CreatedAt: now,
		EmailVerified: true}
	id.UserID, id.Created = u.ID, true
	rec := s.ssoEntry(audit.UserSSOCreated, u, issuer)
	rec.Details["role"] = string(RoleMember)
	if err := s.sso.CreateSSOUser(ctx, u, id, rec); err != nil {
		if errors.Is(err, ErrEmailTaken) {
			return User{}, ErrSSOEmailTaken
		}
		return User{}, err
	}
	s.log.Info("account created by single sign-on", "user", u.ID)
	return u, nil
}

// ssoName is the account's name from the token: its name, else the
// preferred username, else the e-mail's local part, as the first that
// passes the rules for names.
func ssoName(c ssoClaims, email string) string {
	for _, n := range []string{c.Name, c.PreferredUsername, email[:strings.LastIndex(email, "@")]} {
		if v, err := normaliseName(n); err == nil {
			return v
		}
	}
	return "Member"
}

func inDomains(email string, domains []string) bool {
	if len(domains) == 0 {
		return true
	}
	d := email[strings.LastIndex(email, "@")+1:]
	for _, allowed := range domains {
		if d == allowed {
			return true
		}
	}
	return false
}

func (s *Service) ssoEntry(action audit.Action, u User, issuer string) audit.Entry {
	return audit.Entry{Time: s.now(), Action: action, ActorKind: audit.ActorUser, ActorID: u.ID,
		SubjectKind: audit.SubjectUser, SubjectID: u.ID, Details: map[string]string{"issuer": shortDetail(issuer)}}
}
