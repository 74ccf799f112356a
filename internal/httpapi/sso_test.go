package httpapi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/oidctest"
	"github.com/kaigi-meet/kaigi/internal/store"
)

const testSSOSecret = "sso-client-secret-Kx7"

// recorder keeps every response body a test's browsers received.
type recorder struct {
	mu     sync.Mutex
	bodies bytes.Buffer
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.mu.Lock()
	r.bodies.Write(body)
	for _, c := range resp.Header.Values("Set-Cookie") {
		r.bodies.WriteString(c)
	}
	r.bodies.WriteString(resp.Header.Get("Location"))
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSSOThroughTheAPI: an administrator configures the test provider;
// the sign-in page is offered its button; a browser following the
// redirects (start → provider → callback) lands on / signed in, its flow
// cookie HttpOnly, SameSite=Lax and scoped to the callback; a second
// browser of the same person reaches the same account; a callback in a
// browser that did not begin the sign-in, and a token for another
// audience, land on the sign-in page with a code, signed out; SSO only
// refuses a member's password and keeps the administrator's. The client
// secret is in no answer and no log line.
func TestSSOThroughTheAPI(t *testing.T) {
	sealer, _ := auth.NewSealer(make([]byte, 32))
	db, err := store.OpenSQLite(context.Background(), t.TempDir(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	accounts := auth.NewService(auth.Options{Store: db, Sealer: sealer, Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: log})
	srv := httptest.NewServer(New(Options{Meetings: db, Accounts: accounts, Signal: http.NotFoundHandler(), Web: testWeb, Logger: log}))
	t.Cleanup(srv.Close)
	p := oidctest.New(t, "kaigi", testSSOSecret, nil)
	rec := &recorder{}
	browse := func() *browser {
		jar, _ := cookiejar.New(nil)
		return &browser{t: t, base: srv.URL, c: &http.Client{Jar: jar, Transport: rec}}
	}

	admin := browse()
	if code, body := admin.call("POST", "/api/auth/signup", map[string]string{"email": "admin@example.org", "name": "Admin", "password": "correct horse battery"}); code != http.StatusCreated {
		t.Fatalf("sign-up: %d %v", code, body)
	}
	settings := map[string]any{"enabled": true, "issuer": p.Issuer, "clientId": "kaigi", "clientSecret": testSSOSecret, "label": "Example ID", "allowCreate": true}
	code, body := admin.call("PUT", "/api/admin/sso", settings)
	if code != http.StatusOK || body["secretSet"] != true || body["redirectUri"] != srv.URL+"/api/auth/oidc/callback" {
		t.Fatalf("PUT /api/admin/sso: %d %v", code, body)
	}
	if _, has := body["clientSecret"]; has {
		t.Fatalf("the settings answer shows the secret: %v", body)
	}
	if code, body := browse().call("PUT", "/api/admin/sso", settings); code != http.StatusUnauthorized {
		t.Fatalf("PUT /api/admin/sso signed out: %d %v", code, body)
	}
	if code, body := browse().call("GET", "/api/auth/sso", nil); code != http.StatusOK || body["enabled"] != true || body["label"] != "Example ID" {
		t.Fatalf("GET /api/auth/sso: %d %v", code, body)
	}

	// The flow cookie, as set by start.
	bare := &http.Client{Transport: rec, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := bare.Get(srv.URL + "/api/auth/oidc/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), p.Issuer+"/authorize?") ||
		!strings.Contains(cookie, SSOCookie+"=") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") || !strings.Contains(cookie, "Path=/api/auth/oidc/") {
		t.Fatalf("start: %d to %q, cookie %q", resp.StatusCode, resp.Header.Get("Location"), cookie)
	}

	signIn := func(b *browser) *http.Response {
		t.Helper()
		resp, err := b.c.Get(srv.URL + "/api/auth/oidc/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	p.SetPerson(oidctest.Person{Subject: "s-1", Email: "ana@example.org", EmailVerified: true, Name: "Ana"})
	ana := browse()
	if resp := signIn(ana); resp.Request.URL.Path != "/" || resp.StatusCode != http.StatusOK {
		t.Fatalf("the sign-in ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	code, me := ana.call("GET", "/api/me", nil)
	user, _ := me["user"].(map[string]any)
	if code != http.StatusOK || user["email"] != "ana@example.org" || user["role"] != "member" {
		t.Fatalf("/api/me after single sign-on: %d %v", code, me)
	}
	_, export := ana.call("GET", "/api/me/export", nil)
	if ids, _ := export["ssoIdentities"].([]any); len(ids) != 1 || ids[0].(map[string]any)["subject"] != "s-1" || ids[0].(map[string]any)["createdAccount"] != true {
		t.Fatalf("the export's single sign-on identities: %v", export["ssoIdentities"])
	}
	again := browse()
	signIn(again)
	if _, me2 := again.call("GET", "/api/me", nil); me2["user"].(map[string]any)["id"] != user["id"] {
		t.Fatalf("the second sign-in reached %v, want %v", me2["user"], user["id"])
	}

	// A callback in a browser that did not begin the sign-in.
	resp, _ = bare.Get(srv.URL + "/api/auth/oidc/start")
	resp.Body.Close()
	atProvider, _ := bare.Get(resp.Header.Get("Location"))
	atProvider.Body.Close()
	victim := browse()
	resp, err = victim.c.Get(atProvider.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/signin" || resp.Request.URL.Query().Get("sso") != "sso_expired" {
		t.Fatalf("a callback without the flow's cookie ended at %s", resp.Request.URL)
	}
	if code, _ := victim.call("GET", "/api/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("the other browser is signed in: %d", code)
	}
	p.Tamper(func(c map[string]any) { c["aud"] = "someone-else" })
	eve := browse()
	if resp := signIn(eve); resp.Request.URL.Query().Get("sso") != "sso_refused" {
		t.Fatalf("a token for another audience ended at %s", resp.Request.URL)
	}
	p.Tamper(nil)
	if code, _ := eve.call("GET", "/api/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("signed in with a token for another audience: %d", code)
	}

	// SSO only.
	if code, body := admin.call("POST", "/api/admin/users", map[string]string{"email": "bo@example.org", "name": "Bo", "password": "correct horse battery"}); code != http.StatusCreated {
		t.Fatalf("create member: %d %v", code, body)
	}
	adminUser, _ := db.UserByEmail(context.Background(), "admin@example.org")
	org, _ := accounts.Org(context.Background())
	org.AllowSignUp = true
	if err := accounts.UpdateOrg(context.Background(), adminUser, org); err != nil {
		t.Fatal(err)
	}
	if _, body := browse().call("GET", "/api/server", nil); body["signUpOpen"] != true {
		t.Fatalf("/api/server with sign-up open: %v", body)
	}
	settings["ssoOnly"] = true
	delete(settings, "clientSecret")
	if code, body := admin.call("PUT", "/api/admin/sso", settings); code != http.StatusOK || body["ssoOnly"] != true || body["secretSet"] != true {
		t.Fatalf("turning SSO only on: %d %v", code, body)
	}
	if code, body := browse().call("GET", "/api/server", nil); code != http.StatusOK || body["signUpOpen"] != false {
		t.Fatalf("/api/server with SSO only: %d %v, want sign-up closed", code, body)
	}
	if code, body := browse().call("POST", "/api/auth/signin", map[string]string{"email": "bo@example.org", "password": "correct horse battery"}); code != http.StatusForbidden || errCode(body) != "sso_only" {
		t.Fatalf("a member's password with SSO only: %d %v", code, body)
	}
	if code, body := browse().call("POST", "/api/auth/signin", map[string]string{"email": "admin@example.org", "password": "correct horse battery"}); code != http.StatusOK {
		t.Fatalf("the administrator's password with SSO only: %d %v", code, body)
	}
	admin.call("GET", "/api/admin/audit", nil)
	admin.call("GET", "/api/admin/sso", nil)
	admin.call("GET", "/api/me/export", nil)
	browse().call("GET", "/api/privacy", nil)

	rec.mu.Lock()
	answers := rec.bodies.String()
	rec.mu.Unlock()
	if !strings.Contains(answers, "org.sso_changed") || !strings.Contains(answers, SSOCookie) {
		t.Fatal("the recorded answers lack the audit log or the privacy page: the check below would prove nothing")
	}
	if strings.Contains(answers, testSSOSecret) {
		t.Fatal("an API answer shows the client secret")
	}
	if strings.Contains(logs.String(), testSSOSecret) {
		t.Fatal("the server's log shows the client secret")
	}
}
