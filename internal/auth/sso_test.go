package auth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/oidctest"
	"github.com/kaigi-meet/kaigi/internal/passkeytest"
)

const (
	ssoSecret   = "client-secret-Zq81x"
	ssoCallback = "https://meet.example.org/api/auth/oidc/callback"
)

// ssoAddr gives each sign-in attempt an address of its own, so that the
// per-address limit is never what a test meets.
var ssoAddr atomic.Int32

func nextAddr() string { return fmt.Sprintf("192.0.2.%d", ssoAddr.Add(1)%250+1) }

// ssoSetup is a fixture with an administrator and the test provider
// configured with change applied to the settings.
func ssoSetup(t *testing.T, change func(*auth.SSOSettings)) (*fixture, *oidctest.Provider, auth.User) {
	t.Helper()
	f := newFixture(t)
	admin, _, err := f.svc.SignUp(ctx, "admin@example.org", "Admin", pw, "198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	p := oidctest.New(t, "kaigi-client", ssoSecret, f.clock.now)
	s := auth.SSOSettings{Enabled: true, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: ssoSecret, Label: "Example ID", AllowCreate: true}
	if change != nil {
		change(&s)
	}
	if err := f.svc.UpdateSSO(ctx, admin, s); err != nil {
		t.Fatalf("UpdateSSO: %v", err)
	}
	return f, p, admin
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}

// ssoAuthorize begins a sign-in and has the provider answer it; it
// returns the flow and the callback's parameters.
func ssoAuthorize(t *testing.T, f *fixture) (auth.SSOStart, url.Values) {
	t.Helper()
	start, err := f.svc.BeginSSO(ctx, nextAddr(), ssoCallback)
	if err != nil {
		t.Fatalf("BeginSSO: %v", err)
	}
	u, _ := url.Parse(start.URL)
	if q := u.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("the authorization request lacks PKCE, nonce or state: %s", start.URL)
	}
	resp, err := noRedirect.Get(start.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), ssoCallback) {
		t.Fatalf("the provider sent the browser to %q", resp.Header.Get("Location"))
	}
	return start, back.Query()
}

// ssoSignIn is a whole sign-in through the provider.
func ssoSignIn(t *testing.T, f *fixture) (auth.SignInResult, error) {
	t.Helper()
	start, q := ssoAuthorize(t, f)
	return f.svc.FinishSSO(ctx, start.Binding, q.Get("state"), q.Get("code"), q.Get("error"), nextAddr())
}

func countAction(t *testing.T, f *fixture, a audit.Action) int {
	t.Helper()
	entries, err := f.db.AuditEntries(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == a {
			n++
		}
	}
	return n
}

// TestSSOFirstSignInCreatesSecondFinds: the first sign-in through the
// provider makes a member's account (named from the token, with the
// provider's verified e-mail) and signs it in; the second finds the same
// account by the provider's subject, even after the e-mail changed at the
// provider. The client secret is never shown, nor logged, nor in the
// audit log.
func TestSSOFirstSignInCreatesSecondFinds(t *testing.T) {
	f, p, admin := ssoSetup(t, nil)
	p.SetPerson(oidctest.Person{Subject: "kc-4711", Email: "Ana@Example.org", EmailVerified: true, Name: "  Ana Lima "})
	first, err := ssoSignIn(t, f)
	if err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	if first.Token == "" || first.User.Email != "ana@example.org" || first.User.Name != "Ana Lima" || first.User.Role != auth.RoleMember {
		t.Fatalf("first sign-in = %+v", first)
	}
	if u, err := f.svc.Authenticate(ctx, first.Token); err != nil || u.ID != first.User.ID {
		t.Fatalf("the session is %+v, %v", u, err)
	}
	if n, _ := f.svc.CountUsers(ctx); n != 2 {
		t.Fatalf("%d accounts after the first sign-in, want 2", n)
	}

	p.SetPerson(oidctest.Person{Subject: "kc-4711", Email: "ana.lima@example.org", EmailVerified: true, Name: "Ana"})
	second, err := ssoSignIn(t, f)
	if err != nil {
		t.Fatalf("second sign-in: %v", err)
	}
	if second.User.ID != first.User.ID || second.Token == first.Token {
		t.Fatalf("second sign-in = %+v, want account %s with a new session", second.User, first.User.ID)
	}
	if n, _ := f.svc.CountUsers(ctx); n != 2 {
		t.Fatalf("%d accounts after the second sign-in, want 2", n)
	}
	if got := [3]int{countAction(t, f, audit.UserSSOCreated), countAction(t, f, audit.UserSSOSignIn), countAction(t, f, audit.OrgSSOChanged)}; got != [3]int{1, 2, 1} {
		t.Fatalf("audit: %v sso_created, sso_sign_in, sso_changed; want [1 2 1]", got)
	}

	s, err := f.svc.SSOSettings(ctx, admin)
	if err != nil || s.ClientSecret != "" || !s.SecretSet || s.Issuer != p.Issuer {
		t.Fatalf("settings shown = %+v, %v", s, err)
	}
	entries, _ := f.db.AuditEntries(ctx, 0, 1000)
	if strings.Contains(fmt.Sprint(entries), ssoSecret) || strings.Contains(f.logs.String(), ssoSecret) {
		t.Fatal("the client secret is in the audit log or the server's log")
	}
	if _, err := f.svc.SSOSettings(ctx, first.User); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("a member reading the settings = %v", err)
	}
}

// TestSSORefusals: an ID token of another issuer or audience, with
// another nonce, expired, or signed by a key the provider does not
// publish is refused; so is a callback whose state is unknown, used, or
// was begun in another browser, and the person cancelling at the
// provider. None makes an account or a session.
func TestSSORefusals(t *testing.T) {
	f, p, _ := ssoSetup(t, nil)
	tamper := map[string]func(map[string]any){
		"wrong issuer":   func(c map[string]any) { c["iss"] = "https://evil.example.org" },
		"wrong audience": func(c map[string]any) { c["aud"] = "another-client" },
		"wrong nonce":    func(c map[string]any) { c["nonce"] = "replayed" },
		"expired": func(c map[string]any) {
			c["exp"] = f.clock.now().Add(-2 * time.Minute).Unix()
			c["iat"] = f.clock.now().Add(-10 * time.Minute).Unix()
		},
	}
	for name, change := range tamper {
		p.Tamper(change)
		if res, err := ssoSignIn(t, f); !errors.Is(err, auth.ErrSSORefused) || res.Token != "" {
			t.Errorf("%s: %+v, %v; want ErrSSORefused", name, res, err)
		}
	}
	p.Tamper(nil)
	p.SignWithUnknownKey(true)
	if _, err := ssoSignIn(t, f); !errors.Is(err, auth.ErrSSORefused) {
		t.Errorf("a token signed by an unknown key: %v", err)
	}
	p.SignWithUnknownKey(false)
	if issued := p.Issued(); issued != len(tamper)+1 {
		t.Fatalf("the provider issued %d tokens, want %d: the refusals were not of the token", issued, len(tamper)+1)
	}

	// State: another browser's flow cookie, an unknown state, a used one.
	start, q := ssoAuthorize(t, f)
	other, _ := ssoAuthorize(t, f)
	if _, err := f.svc.FinishSSO(ctx, other.Binding, q.Get("state"), q.Get("code"), "", nextAddr()); !errors.Is(err, auth.ErrSSOFlow) {
		t.Errorf("a callback with another browser's cookie: %v", err)
	}
	if _, err := f.svc.FinishSSO(ctx, start.Binding, "not-the-state", q.Get("code"), "", nextAddr()); !errors.Is(err, auth.ErrSSOFlow) {
		t.Errorf("a callback with an unknown state: %v", err)
	}
	if _, err := f.svc.FinishSSO(ctx, start.Binding, q.Get("state"), q.Get("code"), "", nextAddr()); err != nil {
		t.Fatalf("the right browser's callback after the refusals: %v", err)
	}
	if _, err := f.svc.FinishSSO(ctx, start.Binding, q.Get("state"), q.Get("code"), "", nextAddr()); !errors.Is(err, auth.ErrSSOFlow) {
		t.Errorf("a used state: %v", err)
	}
	// A flow that outlived its ten minutes.
	late, lq := ssoAuthorize(t, f)
	f.clock.advance(11 * time.Minute)
	if _, err := f.svc.FinishSSO(ctx, late.Binding, lq.Get("state"), lq.Get("code"), "", nextAddr()); !errors.Is(err, auth.ErrSSOFlow) {
		t.Errorf("an expired flow: %v", err)
	}

	p.Deny(true)
	if _, err := ssoSignIn(t, f); !errors.Is(err, auth.ErrSSORefused) {
		t.Errorf("the person cancelled at the provider: %v", err)
	}
	p.Deny(false)
	if n, _ := f.svc.CountUsers(ctx); n != 2 {
		t.Fatalf("%d accounts, want the admin and the one good sign-in's", n)
	}
	if strings.Contains(f.logs.String(), ssoSecret) {
		t.Fatal("the client secret is in the server's log")
	}
}

// TestSSOAccountRules: without account creation a new person is refused;
// an e-mail the provider did not verify, or outside the allowed domains,
// is refused; a member's existing account is linked by its verified
// e-mail only when the administrator allowed it, an administrator's
// never.
func TestSSOAccountRules(t *testing.T) {
	f, p, admin := ssoSetup(t, func(s *auth.SSOSettings) { s.AllowCreate = false })
	member, err := f.svc.CreateUser(ctx, admin, "bo@example.org", "Bo", pw, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	p.SetPerson(oidctest.Person{Subject: "new-1", Email: "new@example.org", EmailVerified: true, Name: "New"})
	if _, err := ssoSignIn(t, f); !errors.Is(err, auth.ErrSSONoAccount) {
		t.Errorf("a new person without account creation: %v", err)
	}
	p.SetPerson(oidctest.Person{Subject: "bo-1", Email: "bo@example.org", EmailVerified: true, Name: "Bo"})
	if _, err := ssoSignIn(t, f); !errors.Is(err, auth.ErrSSOEmailTaken) {
		t.Errorf("an existing member's e-mail without linking: %v", err)
	}

	settings, _ := f.svc.SSOSettings(ctx, admin)
	settings.LinkByEmail, settings.AllowCreate, settings.Domains = true, true, []string{"Example.org", "@staff.example.org"}
	if err := f.svc.UpdateSSO(ctx, admin, settings); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.SSOSettings(ctx, admin); !got.SecretSet || strings.Join(got.Domains, ",") != "example.org,staff.example.org" {
		t.Fatalf("saved without a secret: %+v (the secret must be kept, the domains normalised)", got)
	}
	p.SetPerson(oidctest.Person{Subject: "bo-1", Email: "bo@example.org", EmailVerified: false, Name: "Bo"})
	if _, err := ssoSignIn(t, f); !errors.Is(err, auth.ErrSSODomain) {
		t.Errorf("an unverified e-mail: %v", err)
	}
	p.SetPerson(oidctest.Person{Subject: "bo-1", Email: "bo@example.org", EmailVerified: true, Name: "Bo"})
	linked, err := ssoSignIn(t, f)
	if err != nil || linked.User.ID != member.ID {
		t.Fatalf("linking the member by e-mail = %+v, %v", linked.User, err)
	}
	if countAction(t, f, audit.UserSSOLinked) != 1 {
		t.Fatal("no user.sso_linked entry")
	}
	p.SetPerson(oidctest.Person{Subject: "admin-1", Email: "admin@example.org", EmailVerified: true, Name: "Admin"})
	if _, err := ssoSignIn(t, f); !errors.Is(err, auth.ErrSSOEmailTaken) {
		t.Errorf("linking the administrator's account: %v", err)
	}
	p.SetPerson(oidctest.Person{Subject: "out-1", Email: "eve@elsewhere.example", EmailVerified: true, Name: "Eve"})
	if _, err := ssoSignIn(t, f); !errors.Is(err, auth.ErrSSODomain) {
		t.Errorf("an e-mail outside the allowed domains: %v", err)
	}
	if n, _ := f.svc.CountUsers(ctx); n != 2 {
		t.Fatalf("%d accounts, want 2", n)
	}
}

// TestSSOOnly: with SSO only, a member's right password (and sign-up) is
// refused while a wrong one is still just wrong, and so is a member's
// passkey; the administrator still signs in with the password. The
// two-factor requirement is met by the provider for an account made by
// it, not for a member's linked account that can still use its
// password, and for that one too once SSO only is on.
func TestSSOOnly(t *testing.T) {
	f, p, admin := ssoSetup(t, func(s *auth.SSOSettings) { s.LinkByEmail = true })
	if _, err := f.svc.CreateUser(ctx, admin, "bo@example.org", "Bo", pw, auth.RoleMember); err != nil {
		t.Fatal(err)
	}
	p.SetPerson(oidctest.Person{Subject: "bo-1", Email: "bo@example.org", EmailVerified: true, Name: "Bo"})
	bo, err := ssoSignIn(t, f)
	if err != nil {
		t.Fatal(err)
	}
	p.SetPerson(oidctest.Person{Subject: "cy-1", Email: "cy@example.org", EmailVerified: true, Name: "Cy"})
	cy, err := ssoSignIn(t, f)
	if err != nil {
		t.Fatal(err)
	}
	org, _ := f.svc.Org(ctx)
	org.Require2FA, org.AllowSignUp = true, true
	if err := f.svc.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatal(err)
	}
	org, _ = f.svc.Org(ctx)
	owes := func(u auth.User) bool {
		twoFactor, passkey, err := f.svc.Requirements(ctx, org, u)
		if err != nil {
			t.Fatal(err)
		}
		return twoFactor || passkey
	}
	if owes(cy.User) || !owes(bo.User) || !owes(admin) {
		t.Fatalf("before SSO only, owing two-factor: made by SSO %v (want false), linked member %v, admin %v (want true)", owes(cy.User), owes(bo.User), owes(admin))
	}
	if _, err := f.svc.SignIn(ctx, "bo@example.org", pw, nextAddr()); err != nil {
		t.Fatalf("the member's password before SSO only: %v", err)
	}

	s, _ := f.svc.SSOSettings(ctx, admin)
	s.SSOOnly = true
	if err := f.svc.UpdateSSO(ctx, admin, s); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(ctx, "bo@example.org", pw, nextAddr()); !errors.Is(err, auth.ErrSSOOnly) {
		t.Errorf("the member's right password with SSO only: %v", err)
	}
	if _, err := f.svc.SignIn(ctx, "bo@example.org", "wrong password!", nextAddr()); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a wrong password with SSO only: %v (must not tell more than a wrong password)", err)
	}
	if _, _, err := f.svc.SignUp(ctx, "dee@example.org", "Dee", pw, nextAddr()); !errors.Is(err, auth.ErrSSOOnly) {
		t.Errorf("sign-up with SSO only: %v", err)
	}
	if res, err := f.svc.SignIn(ctx, "admin@example.org", pw, nextAddr()); err != nil || res.Token == "" {
		t.Errorf("the administrator's password with SSO only: %+v, %v", res, err)
	}
	if owes(bo.User) {
		t.Error("with SSO only, the linked member still owes two-factor: the provider is its only way in")
	}
	if res, err := ssoSignIn(t, f); err != nil || res.User.ID != cy.User.ID {
		t.Errorf("SSO with SSO only: %+v, %v", res.User, err)
	}
	// A passkey the member registers (with the session the provider's
	// sign-in gave) does not sign them in either.
	a := &passkeytest.Authenticator{Origin: origin}
	cred, _ := registerPasskey(t, f, bo.User, bo.Token, a, "Laptop")
	if _, err := signInWithPasskey(f, a, cred, nextAddr()); !errors.Is(err, auth.ErrSSOOnly) {
		t.Errorf("the member's passkey with SSO only: %v", err)
	}

	s.Enabled = false
	if err := f.svc.UpdateSSO(ctx, admin, s); !errors.Is(err, auth.ErrBadSSOConfig) {
		t.Errorf("SSO only with SSO off: %v", err)
	}
}

// TestSSOSettingsChecks: an issuer that is not https (but for
// loopback), or whose discovery document names another issuer, is
// refused when turned on.
func TestSSOSettingsChecks(t *testing.T) {
	f, p, admin := ssoSetup(t, nil)
	for _, issuer := range []string{"http://id.example.org", "ftp://x", "https://", p.Issuer + "/other"} {
		s := auth.SSOSettings{Enabled: true, Issuer: issuer, ClientID: "c"}
		if err := f.svc.UpdateSSO(ctx, admin, s); !errors.Is(err, auth.ErrBadSSOConfig) {
			t.Errorf("issuer %q: %v", issuer, err)
		}
	}
	if err := f.svc.UpdateSSO(ctx, admin, auth.SSOSettings{Enabled: true, Issuer: p.Issuer, ClientID: "c", Label: strings.Repeat("x", 41)}); !errors.Is(err, auth.ErrBadSSOConfig) {
		t.Errorf("a 41-character label: %v", err)
	}
	b, err := f.svc.SSOSignInButton(ctx)
	if err != nil || !b.Enabled || b.Label != "Example ID" {
		t.Fatalf("the button after refused changes = %+v, %v", b, err)
	}
}
