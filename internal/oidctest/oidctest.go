// Package oidctest is a small OpenID Connect provider for tests, served
// on loopback: a discovery document, a JWKS with one ECDSA P-256 key, an
// authorization endpoint that signs in the person the test chose and
// redirects back with a code at once (no page to click), and a token
// endpoint that checks the client's secret, the redirect URI and the
// PKCE verifier (S256) before issuing an ES256-signed ID token. A test
// can tamper with the next ID tokens' claims, sign them with a key the
// JWKS does not hold, or have the person refuse.
//
// It is for tests only: it keeps everything in memory and trusts whoever
// reaches it.
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Person is who the provider signs in next.
type Person struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// Provider is a running test provider.
type Provider struct {
	// Issuer is the provider's issuer URL (http://127.0.0.1:port).
	Issuer                 string
	ClientID, ClientSecret string

	srv *httptest.Server
	key *ecdsa.PrivateKey
	kid string

	mu       sync.Mutex
	now      func() time.Time
	person   Person
	tamper   func(claims map[string]any)
	otherKey *ecdsa.PrivateKey // signs instead of key when set
	deny     bool
	grants   map[string]grant // by code
	tokens   int              // ID tokens issued
	refused  []string         // why token requests were refused
}

type grant struct {
	person    Person
	nonce     string
	challenge string
	redirect  string
}

// New starts a provider on loopback for a client with the ID and secret
// given; it stops when the test ends. now is the clock its tokens are
// issued by (nil: time.Now).
func New(t testing.TB, clientID, clientSecret string, now func() time.Time) *Provider {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if now == nil {
		now = time.Now
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, key: key, kid: "test-key-1", now: now,
		grants: map[string]grant{}, person: Person{Subject: "subject-1", Email: "person@example.org", EmailVerified: true, Name: "Test Person"}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	p.srv.Start()
	p.Issuer = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// SetPerson chooses who the provider signs in next.
func (p *Provider) SetPerson(who Person) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.person = who
}

// Tamper changes the claims of every ID token issued from now on before
// it is signed (nil: no change).
func (p *Provider) Tamper(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// SignWithUnknownKey makes the provider sign ID tokens with a key its
// JWKS does not publish (under the published key's ID), or stop doing so.
func (p *Provider) SignWithUnknownKey(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.otherKey = nil
	if on {
		p.otherKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
}

// Deny makes the authorization endpoint answer access_denied (the person
// cancelled), or stop doing so.
func (p *Provider) Deny(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deny = on
}

// Issued counts the ID tokens issued.
func (p *Provider) Issued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens
}

// Refused lists why token requests were refused, oldest first.
func (p *Provider) Refused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.refused...)
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + "/authorize",
		"token_endpoint":                        p.Issuer + "/token",
		"jwks_uri":                              p.Issuer + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	pub := p.key.PublicKey
	raw, _ := pub.Bytes() // 0x04 || X || Y
	b64 := base64.RawURLEncoding.EncodeToString
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": p.kid,
		"x": b64(raw[1:33]), "y": b64(raw[33:65]),
	}}})
}

// authorize signs in the chosen person at once and redirects back with a
// code (or access_denied).
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" {
		http.Error(w, "unknown client or response type", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	p.mu.Lock()
	switch {
	case p.deny:
		back.Set("error", "access_denied")
		back.Set("error_description", "The user <b>cancelled</b>")
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		back.Set("error", "invalid_request")
	default:
		code := randomString()
		p.grants[code] = grant{person: p.person, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: redirect.String()}
		back.Set("code", code)
	}
	p.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusSeeOther)
}

// token exchanges a code for an ID token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	refuse := func(why string) {
		p.mu.Lock()
		p.refused = append(p.refused, why)
		p.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": why})
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		p.mu.Lock()
		p.refused = append(p.refused, "wrong client credentials")
		p.mu.Unlock()
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		refuse("grant type")
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, found := p.grants[code]
	delete(p.grants, code)
	p.mu.Unlock()
	if !found {
		refuse("unknown or used code")
		return
	}
	if r.PostForm.Get("redirect_uri") != g.redirect {
		refuse("redirect_uri differs from the authorization request's")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		refuse("PKCE verifier does not match the challenge")
		return
	}
	p.mu.Lock()
	now := p.now()
	claims := map[string]any{
		"iss": p.Issuer, "aud": p.ClientID, "sub": g.person.Subject,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": g.nonce,
		"email": g.person.Email, "email_verified": g.person.EmailVerified, "name": g.person.Name,
	}
	if p.tamper != nil {
		p.tamper(claims)
	}
	key := p.key
	if p.otherKey != nil {
		key = p.otherKey
	}
	p.tokens++
	p.mu.Unlock()
	idToken, err := sign(key, p.kid, claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

// sign makes a compact JWS (ES256) of claims.
func sign(key *ecdsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(signing))
	rs, sn, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign ID token: %w", err)
	}
	sig := make([]byte, 64)
	rs.FillBytes(sig[:32])
	sn.FillBytes(sig[32:])
	return signing + "." + b64(sig), nil
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
