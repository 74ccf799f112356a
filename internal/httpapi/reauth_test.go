package httpapi

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/oidctest"
	"github.com/kaigi-meet/kaigi/internal/passkeytest"
)

// thief is a browser holding a copy of b's session cookie, as someone who
// stole it would.
func thief(t *testing.T, srv *httptest.Server, b *browser) *browser {
	t.Helper()
	c := b.cookie(SessionCookie)
	if c == nil {
		t.Fatal("no session cookie to steal")
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: c.Value, Path: "/"}})
	return &browser{t: t, base: srv.URL, c: &http.Client{Jar: jar}}
}

// sensitive are requests that need a recent re-authentication, each with
// a body that would otherwise succeed (or fail for another reason than
// re-authentication).
var sensitive = []struct {
	method, path string
	body         any
}{
	{"POST", "/api/me/tokens", map[string]any{"name": "kept access", "scopes": []string{"meetings:read"}}},
	{"POST", "/api/admin/tokens", map[string]any{"name": "kept admin", "scopes": []string{"admin"}}},
	{"PUT", "/api/admin/org", map[string]any{"name": "Taken", "allowSignUp": true}},
	{"POST", "/api/admin/users", map[string]any{"email": "mallory@example.org", "name": "Mallory", "password": "another long password", "role": "admin"}},
	{"POST", "/api/admin/users/nobody/suspend", map[string]any{"reason": "x"}},
	{"PUT", "/api/admin/sso", map[string]any{"enabled": false}},
	{"POST", "/api/auth/oidc/link", map[string]any{}},
}

// TestStolenSessionCannotMintAToken: a session cookie taken from a
// browser signed in more than 10 minutes ago creates no API token (which
// would outlive the session), no organisation token, no administrator
// and changes no organisation or single sign-on setting: each answers
// reauth_required, and so does the owner's own browser until the
// password again opens a 10-minute window, after which the owner's
// requests pass and, when the window closes, are refused again. A wrong
// password opens nothing.
func TestStolenSessionCannotMintAToken(t *testing.T) {
	srv, ada, clock, _ := tokenServer(t)
	// Just signed up: a full sign-in opens the window.
	makeToken(t, ada, "/api/me/tokens", []string{"meetings:read"}, 0)
	if code, body := ada.call("GET", "/api/auth/reauth", nil); code != http.StatusOK || body["until"] == nil {
		t.Fatalf("the window after signing up = %d %v", code, body)
	}

	clock.advance(auth.ReauthWindow + time.Second)
	mallory := thief(t, srv, ada)
	if code, body := mallory.call("GET", "/api/me", nil); code != http.StatusOK {
		t.Fatalf("the stolen cookie is a session: %d %v", code, body)
	}
	for _, b := range []*browser{mallory, ada} {
		for _, req := range sensitive {
			if code, body := b.call(req.method, req.path, req.body); code != http.StatusForbidden || errCode(body) != "reauth_required" {
				t.Errorf("%s %s after %v = %d %v, want 403 reauth_required", req.method, req.path, auth.ReauthWindow, code, body)
			}
		}
	}
	if code, body := ada.call("GET", "/api/me/tokens", nil); code != http.StatusOK || len(body["tokens"].([]any)) != 1 {
		t.Fatalf("the tokens after the refusals = %d %v", code, body)
	}
	if code, body := ada.call("GET", "/api/auth/reauth", nil); code != http.StatusOK || body["until"] != nil {
		t.Fatalf("the window after it closed = %d %v", code, body)
	}

	// A wrong password opens nothing; the right one opens the window for
	// the session it was sent on (the thief's copy is the same session:
	// the password is what the thief lacks).
	if code, body := mallory.call("POST", "/api/auth/reauth", map[string]string{"password": "a guess at the password"}); code != http.StatusUnauthorized || errCode(body) != "bad_credentials" {
		t.Fatalf("re-authentication with a wrong password = %d %v", code, body)
	}
	if code, body := mallory.call("POST", "/api/me/tokens", sensitive[0].body); code != http.StatusForbidden || errCode(body) != "reauth_required" {
		t.Fatalf("a token after a wrong password = %d %v", code, body)
	}
	code, body := ada.call("POST", "/api/auth/reauth", map[string]string{"password": password})
	until, _ := body["until"].(string)
	if code != http.StatusOK || until == "" {
		t.Fatalf("re-authentication = %d %v", code, body)
	}
	if end, err := time.Parse(time.RFC3339Nano, until); err != nil || !end.Equal(clock.now().Add(auth.ReauthWindow)) {
		t.Errorf("the window ends at %q, want %v", until, clock.now().Add(auth.ReauthWindow))
	}
	makeToken(t, ada, "/api/me/tokens", []string{"meetings:read"}, 0)
	makeToken(t, ada, "/api/admin/tokens", []string{"meetings:read"}, 0)

	clock.advance(auth.ReauthWindow + time.Second)
	if code, body := ada.call("POST", "/api/me/tokens", sensitive[0].body); code != http.StatusForbidden || errCode(body) != "reauth_required" {
		t.Fatalf("a token once the window closed again = %d %v", code, body)
	}
}

// TestReauthWithTOTPNeedsTheCode: an account with an authenticator app
// re-authenticates with its password and a current code, as it signs in;
// the password alone is refused.
func TestReauthWithTOTPNeedsTheCode(t *testing.T) {
	_, ada, clock, _ := tokenServer(t)
	_, e := ada.call("POST", "/api/me/2fa/begin", nil)
	secret, _ := e["secret"].(string)
	first, _ := auth.TOTPCode(secret, clock.now())
	if code, body := ada.call("POST", "/api/me/2fa/confirm", map[string]string{"code": first}); code != http.StatusOK {
		t.Fatalf("turn two-factor on = %d %v", code, body)
	}
	clock.advance(auth.ReauthWindow + time.Second)
	if code, body := ada.call("POST", "/api/auth/reauth", map[string]string{"password": password}); code != http.StatusUnauthorized || errCode(body) != "bad_code" {
		t.Fatalf("re-authentication without the code = %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/me/tokens", sensitive[0].body); code != http.StatusForbidden || errCode(body) != "reauth_required" {
		t.Fatalf("a token after the password alone = %d %v", code, body)
	}
	code, _ := auth.TOTPCode(secret, clock.now())
	if c, body := ada.call("POST", "/api/auth/reauth", map[string]string{"password": password, "code": code}); c != http.StatusOK || body["until"] == nil {
		t.Fatalf("re-authentication with the code = %d %v", c, body)
	}
	makeToken(t, ada, "/api/me/tokens", []string{"meetings:read"}, 0)
}

// TestReauthWithAPasskey: an account whose second step is a passkey is
// told to use it (its password alone does not re-authenticate), and the
// passkey does; the answer works once, only on the session that began
// the ceremony.
func TestReauthWithAPasskey(t *testing.T) {
	clock := &fakeClock{t: time.Now().UTC()}
	env := newTestEnvAt(t, clock.now)
	srv := httptest.NewServer(New(Options{Meetings: env.db, Accounts: env.accounts, Tokens: env.db, Now: clock.now,
		Signal: http.NotFoundHandler(), Web: testWeb, Logger: env.log, PublicURL: passkeyOrigin}))
	t.Cleanup(srv.Close)
	ada := newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")
	a := &passkeytest.Authenticator{Origin: passkeyOrigin}
	cred, _ := registerOverAPI(t, ada, a, "Laptop")
	clock.advance(auth.ReauthWindow + time.Second)

	if code, body := ada.call("POST", "/api/auth/reauth", map[string]string{"password": password}); code != http.StatusConflict || errCode(body) != "reauth_passkey" {
		t.Fatalf("re-authentication with the password alone = %d %v", code, body)
	}
	code, begun := ada.call("POST", "/api/auth/reauth/passkey/begin", map[string]any{})
	if code != http.StatusOK {
		t.Fatalf("begin = %d %v", code, begun)
	}
	resp, err := a.Get(options(t, begun), cred)
	if err != nil {
		t.Fatal(err)
	}
	answer := map[string]any{"flow": begun["flow"], "credential": json.RawMessage(resp)}
	// Another session of the same account (another browser signed in
	// with the passkey) cannot finish what this one began.
	other := newBrowser(t, srv)
	if code, body := signInWithPasskeyOverAPI(t, other, a, cred); code != http.StatusOK {
		t.Fatalf("the other browser's sign-in = %d %v", code, body)
	}
	if code, body := other.call("POST", "/api/auth/reauth/passkey/finish", answer); code != http.StatusUnauthorized || errCode(body) != "passkey_refused" {
		t.Fatalf("another session finishing the ceremony = %d %v", code, body)
	}
	// That try used the ceremony up; a new one for Ada's session.
	code, begun = ada.call("POST", "/api/auth/reauth/passkey/begin", map[string]any{})
	if code != http.StatusOK {
		t.Fatalf("begin again = %d %v", code, begun)
	}
	if resp, err = a.Get(options(t, begun), cred); err != nil {
		t.Fatal(err)
	}
	answer = map[string]any{"flow": begun["flow"], "credential": json.RawMessage(resp)}
	if code, body := ada.call("POST", "/api/auth/reauth/passkey/finish", answer); code != http.StatusOK || body["until"] == nil {
		t.Fatalf("finish = %d %v", code, body)
	}
	makeToken(t, ada, "/api/me/tokens", []string{"meetings:read"}, 0)
	if code, body := ada.call("POST", "/api/auth/reauth/passkey/finish", answer); code != http.StatusUnauthorized || errCode(body) != "passkey_refused" {
		t.Fatalf("the same answer again = %d %v", code, body)
	}
}

// TestSSOAccountReauthenticatesThroughTheProvider: an account made by
// single sign-on has a password no one knows, so the steps that ask for
// the password again (here, deleting the account) take a recent
// re-authentication instead: outside the window they answer
// reauth_required (never bad_credentials, which would have its owner
// guess at a password), and a fresh sign-in through the provider opens
// it. An account with a password of its own still needs the password.
func TestSSOAccountReauthenticatesThroughTheProvider(t *testing.T) {
	n := newTwoNodes(t, "", "")
	srv := n.a
	p := oidctest.New(t, "kaigi", testSSOSecret, n.clock.now)
	admin := newBrowser(t, srv)
	signUp(t, admin, "admin@example.org", "Admin")
	settings := map[string]any{"enabled": true, "issuer": p.Issuer, "clientId": "kaigi", "clientSecret": testSSOSecret, "label": "Example ID", "allowCreate": true}
	if code, body := admin.call("PUT", "/api/admin/sso", settings); code != http.StatusOK {
		t.Fatalf("PUT /api/admin/sso: %d %v", code, body)
	}
	p.SetPerson(oidctest.Person{Subject: "ana-1", Email: "ana@example.org", EmailVerified: true, Name: "Ana"})
	ana := newBrowser(t, srv)
	ssoSignIn := func() {
		t.Helper()
		resp, err := ana.c.Get(srv.URL + "/api/auth/oidc/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != "/" {
			t.Fatalf("single sign-on ended at %s", resp.Request.URL)
		}
	}
	ssoSignIn()
	n.clock.advance(auth.ReauthWindow + time.Second)
	if code, body := ana.call("POST", "/api/me/delete", map[string]string{"password": ""}); code != http.StatusForbidden || errCode(body) != "reauth_required" {
		t.Fatalf("deleting the account outside the window = %d %v, want reauth_required", code, body)
	}
	// The admin's password account: an empty password is a wrong one,
	// window or not.
	if code, body := admin.call("POST", "/api/auth/reauth", map[string]string{"password": password}); code != http.StatusOK {
		t.Fatalf("admin re-authenticates = %d %v", code, body)
	}
	if code, body := admin.call("POST", "/api/me/delete", map[string]string{"password": ""}); code != http.StatusUnauthorized || errCode(body) != "bad_credentials" {
		t.Fatalf("a password account's deletion without its password = %d %v", code, body)
	}
	ssoSignIn()
	if code, body := ana.call("POST", "/api/me/delete", map[string]string{"password": ""}); code != http.StatusNoContent {
		t.Fatalf("deleting the account just after signing in through the provider = %d %v", code, body)
	}
	if code, _ := ana.call("GET", "/api/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("the deleted account is still signed in: %d", code)
	}
}

// TestSSOAccountAddsAPasskeyWithoutAPassword: an account made by single
// sign-on is told it has no password (/api/me noPassword) and, just after
// signing in through the provider, registers a passkey with none; later,
// outside the window, it is asked to re-authenticate (which its passkey
// now does) rather than told its empty password is wrong.
func TestSSOAccountAddsAPasskeyWithoutAPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// localhost: a name passkeys can be bound to, on the address the
	// server listens on.
	public := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	clock := &fakeClock{t: time.Now().UTC()}
	env := newTestEnvAt(t, clock.now)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: New(Options{Meetings: env.db, Accounts: env.accounts, Tokens: env.db, Now: clock.now,
		Signal: http.NotFoundHandler(), Web: testWeb, Logger: env.log, PublicURL: public})}}
	srv.Start()
	t.Cleanup(srv.Close)
	browse := func() *browser {
		jar, _ := cookiejar.New(nil)
		return &browser{t: t, base: public, c: &http.Client{Jar: jar}}
	}
	p := oidctest.New(t, "kaigi", testSSOSecret, clock.now)
	admin := browse()
	signUp(t, admin, "admin@example.org", "Admin")
	settings := map[string]any{"enabled": true, "issuer": p.Issuer, "clientId": "kaigi", "clientSecret": testSSOSecret, "label": "Example ID", "allowCreate": true}
	if code, body := admin.call("PUT", "/api/admin/sso", settings); code != http.StatusOK {
		t.Fatalf("PUT /api/admin/sso: %d %v", code, body)
	}
	if _, me := admin.call("GET", "/api/me", nil); me["noPassword"] != false {
		t.Fatalf("the admin's /api/me says noPassword %v", me["noPassword"])
	}
	p.SetPerson(oidctest.Person{Subject: "ana-1", Email: "ana@example.org", EmailVerified: true, Name: "Ana"})
	ana := browse()
	resp, err := ana.c.Get(public + "/api/auth/oidc/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, me := ana.call("GET", "/api/me", nil); me["noPassword"] != true {
		t.Fatalf("the account single sign-on made: /api/me %v", me)
	}
	a := &passkeytest.Authenticator{Origin: public}
	code, begun := ana.call("POST", "/api/me/passkeys/begin", map[string]string{"password": ""})
	if code != http.StatusOK {
		t.Fatalf("begin a passkey without a password just after signing in = %d %v", code, begun)
	}
	resp2, cred, err := a.Create(options(t, begun))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := ana.call("POST", "/api/me/passkeys/finish", map[string]any{"flow": begun["flow"], "name": "Phone", "credential": json.RawMessage(resp2)}); code != http.StatusCreated {
		t.Fatalf("finish = %d %v", code, body)
	}

	clock.advance(auth.ReauthWindow + time.Second)
	if code, body := ana.call("POST", "/api/me/passkeys/begin", map[string]string{"password": ""}); code != http.StatusForbidden || errCode(body) != "reauth_required" {
		t.Fatalf("a second passkey outside the window = %d %v, want reauth_required", code, body)
	}
	code, begun = ana.call("POST", "/api/auth/reauth/passkey/begin", map[string]any{})
	if code != http.StatusOK {
		t.Fatalf("begin re-authentication = %d %v", code, begun)
	}
	got, err := a.Get(options(t, begun), cred)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := ana.call("POST", "/api/auth/reauth/passkey/finish", map[string]any{"flow": begun["flow"], "credential": json.RawMessage(got)}); code != http.StatusOK {
		t.Fatalf("re-authenticate with the passkey = %d %v", code, body)
	}
	if code, body := ana.call("POST", "/api/me/passkeys/begin", map[string]string{"password": ""}); code != http.StatusOK {
		t.Fatalf("a second passkey after re-authenticating = %d %v", code, body)
	}
}
