package auth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/oidctest"
)

// TestSSOKeptSecretGoesToItsIssuerOnly: the kept client secret, never
// shown back, cannot be drawn out by pointing the settings at another
// issuer (one whoever holds an administrator's session runs) while
// leaving the secret field empty: the server would send the kept secret
// to that provider's token endpoint at the next sign-in. Changing the
// issuer needs the secret again (or clearing it); the kept secret still
// serves settings changes that keep the issuer.
func TestSSOKeptSecretGoesToItsIssuerOnly(t *testing.T) {
	f, p, admin := ssoSetup(t, nil)
	// The attacker's provider accepts whatever secret it is sent; here
	// it takes only the organisation's, so a sign-in through it proves
	// the secret reached it.
	evil := oidctest.New(t, p.ClientID, ssoSecret, f.clock.now)
	moved := auth.SSOSettings{Enabled: true, Issuer: evil.Issuer, ClientID: p.ClientID, Label: "Example ID", AllowCreate: true}
	err := f.svc.UpdateSSO(ctx, admin, moved)
	if err == nil {
		if _, signInErr := ssoSignIn(t, f); signInErr == nil {
			t.Fatal("the kept client secret was sent to another issuer's token endpoint")
		}
		t.Fatal("another issuer with the kept secret was accepted")
	}
	if !errors.Is(err, auth.ErrBadSSOConfig) {
		t.Fatalf("another issuer with the kept secret: %v, want a settings error", err)
	}
	// With the secret given again, or cleared, the issuer may change.
	moved.ClearSecret = true
	if err := f.svc.UpdateSSO(ctx, admin, moved); err != nil {
		t.Fatalf("another issuer, secret cleared: %v", err)
	}
	moved.ClearSecret, moved.Issuer, moved.ClientSecret = false, p.Issuer, ssoSecret
	if err := f.svc.UpdateSSO(ctx, admin, moved); err != nil {
		t.Fatalf("back, with the secret: %v", err)
	}
	// The same issuer keeps the secret across other changes.
	moved.ClientSecret, moved.Label = "", "Staff ID"
	if err := f.svc.UpdateSSO(ctx, admin, moved); err != nil {
		t.Fatalf("a new label, secret kept: %v", err)
	}
	if _, err := ssoSignIn(t, f); err != nil {
		t.Fatalf("sign-in with the kept secret: %v", err)
	}
}

// TestSSOProviderAnswersAreBounded: a provider (malicious, or a network
// attacker's where http is allowed) cannot make the server hold an
// answer of any size: the discovery document, like every answer read
// from the provider, is refused beyond 1 MiB; one of ordinary size with
// the same content is accepted.
func TestSSOProviderAnswersAreBounded(t *testing.T) {
	f, _, admin := ssoSetup(t, nil)
	var padding atomic.Int64
	var asked atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/authorize","token_endpoint":"%[1]s/token","jwks_uri":"%[1]s/jwks","x_padding":"%s"}`,
			srv.URL, strings.Repeat("a", int(padding.Load())))
	}))
	defer srv.Close()
	s := auth.SSOSettings{Enabled: true, Issuer: srv.URL, ClientID: "c", ClearSecret: true}
	padding.Store(4 << 20)
	if err := f.svc.UpdateSSO(ctx, admin, s); !errors.Is(err, auth.ErrBadSSOConfig) {
		t.Fatalf("a 4 MiB discovery document: %v, want refused", err)
	}
	if asked.Load() == 0 {
		t.Fatal("the provider was never asked")
	}
	padding.Store(1 << 10)
	if err := f.svc.UpdateSSO(ctx, admin, s); err != nil {
		t.Fatalf("a 1 KiB discovery document: %v", err)
	}
}

// TestSSOFlowsCannotBeFilledUp: someone with a few hundred addresses who
// begins sign-ins they never finish (10 000 kept at once) does not shut
// single sign-on, which in an SSO-only organisation is the members' only
// way in: the oldest unfinished flows give way, and a person who begins
// after them signs in.
func TestSSOFlowsCannotBeFilledUp(t *testing.T) {
	f, _, _ := ssoSetup(t, nil)
	for i := range 10000 {
		ip := fmt.Sprintf("10.%d.%d.1", i/20/250, i/20%250) // 20 a address, within its burst
		if _, err := f.svc.BeginSSO(ctx, ip, ssoCallback); err != nil {
			t.Fatalf("flow %d from %s: %v", i, ip, err)
		}
	}
	if _, err := ssoSignIn(t, f); err != nil {
		t.Fatalf("a person's sign-in after 10 000 abandoned flows: %v", err)
	}
}

// TestSSOProviderEndpointsMustBeHTTPS: an https issuer whose discovery
// document names a plain-http token endpoint or JWKS (a provider behind
// a TLS-terminating proxy that does not know it, a common Keycloak
// misconfiguration) would have the server send the client secret and
// code, and fetch the keys it trusts, where a network attacker reads and
// changes them. Every endpoint the document names must be https (http
// only to this machine, as for the issuer).
func TestSSOProviderEndpointsMustBeHTTPS(t *testing.T) {
	f, _, admin := ssoSetup(t, nil)
	var plain atomic.Value
	plain.Store("")
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eps := map[string]string{"authorization_endpoint": srv.URL + "/authorize", "token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/jwks"}
		if k := plain.Load().(string); k != "" {
			eps[k] = "http://203.0.113.5/" + k
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":%q,"token_endpoint":%q,"jwks_uri":%q}`,
			srv.URL, eps["authorization_endpoint"], eps["token_endpoint"], eps["jwks_uri"])
	}))
	defer srv.Close()
	s := auth.SSOSettings{Enabled: true, Issuer: srv.URL, ClientID: "c", ClearSecret: true}
	for _, k := range []string{"token_endpoint", "jwks_uri", "authorization_endpoint"} {
		plain.Store(k)
		if err := f.svc.UpdateSSO(ctx, admin, s); !errors.Is(err, auth.ErrBadSSOConfig) {
			t.Errorf("a plain-http %s off this machine: %v, want refused", k, err)
		}
	}
	plain.Store("")
	if err := f.svc.UpdateSSO(ctx, admin, s); err != nil {
		t.Fatalf("every endpoint on this machine: %v", err)
	}
}
