package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tokenServer is the API with tokens on, a fake clock, and its first
// account (Ada, the administrator) signed in on a browser.
func tokenServer(t *testing.T) (*httptest.Server, *browser, *fakeClock, *testEnv) {
	t.Helper()
	c := &fakeClock{t: time.Now().UTC()}
	env := newTestEnvAt(t, c.now)
	h := New(Options{Meetings: env.db, Accounts: env.accounts, Tokens: env.db, Now: c.now, Signal: http.NotFoundHandler(), Web: testWeb, Logger: env.log})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ada := newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")
	return srv, ada, c, env
}

// makeToken creates a token through the API (path /api/me/tokens or
// /api/admin/tokens) and returns its ID and secret.
func makeToken(t *testing.T, b *browser, path string, scopes []string, days int) (string, string) {
	t.Helper()
	code, body := b.call("POST", path, map[string]any{"name": "test " + strings.Join(scopes, ","), "scopes": scopes, "expiresInDays": days})
	if code != http.StatusCreated {
		t.Fatalf("create token %v: %d %v", scopes, code, body)
	}
	secret, _ := body["secret"].(string)
	tok, _ := body["token"].(map[string]any)
	id, _ := tok["id"].(string)
	if id == "" || secret == "" {
		t.Fatalf("create token: %v", body)
	}
	return id, secret
}

// program is a client without cookies that sends a bearer token.
func program(t *testing.T, srv *httptest.Server) *browser {
	return &browser{t: t, base: srv.URL, c: &http.Client{}}
}

func bearer(secret string) []string { return []string{"Authorization", "Bearer " + secret} }

// TestScopedTokenListsMeetingsButNotAdmin: a personal meetings:read token
// lists the account's meetings and reaches nothing that needs another
// scope, nor the endpoints that need a browser.
func TestScopedTokenListsMeetingsButNotAdmin(t *testing.T) {
	srv, ada, _, _ := tokenServer(t)
	if code, body := ada.call("POST", "/api/meetings", map[string]any{"title": "Standup"}); code != http.StatusCreated {
		t.Fatalf("create meeting: %d %v", code, body)
	}
	_, secret := makeToken(t, ada, "/api/me/tokens", []string{"meetings:read"}, 0)
	if !regexp.MustCompile(`^kaigi_pat_[A-Za-z0-9_-]{43}$`).MatchString(secret) {
		t.Fatalf("token %q: want kaigi_pat_ and 32 bytes of base64url", secret)
	}
	p := program(t, srv)
	code, body := p.call("GET", "/api/meetings", nil, bearer(secret)...)
	ms, _ := body["meetings"].([]any)
	if code != http.StatusOK || len(ms) != 2 { // the personal room and Standup
		t.Fatalf("list meetings with the token: %d %v", code, body)
	}
	if code, body := p.call("GET", "/api/me", nil, bearer(secret)...); code != http.StatusOK || body["user"].(map[string]any)["email"] != "ada@example.org" {
		t.Fatalf("me with the token: %d %v", code, body)
	}
	if code, body := p.call("GET", "/api/server", nil, bearer(secret)...); code != http.StatusOK {
		t.Fatalf("a public endpoint with the token: %d %v", code, body)
	}
	// Ada is an administrator, but the token has no admin scope.
	for _, req := range [][2]string{{"GET", "/api/admin/users"}, {"GET", "/api/admin/audit"}, {"GET", "/api/admin/org"}} {
		if code, body := p.call(req[0], req[1], nil, bearer(secret)...); code != http.StatusForbidden || errCode(body) != "insufficient_scope" {
			t.Errorf("%s %s with a meetings:read token = %d %v", req[0], req[1], code, body)
		}
	}
	if code, body := p.call("POST", "/api/meetings", map[string]any{}, bearer(secret)...); code != http.StatusForbidden || errCode(body) != "insufficient_scope" {
		t.Errorf("create a meeting with a meetings:read token = %d %v", code, body)
	}
	// Admin users' routes that change accounts are not a token's even
	// with the admin scope; a personal token cannot have it at all.
	if code, body := ada.call("POST", "/api/me/tokens", map[string]any{"name": "x", "scopes": []string{"admin"}}); code != http.StatusBadRequest || errCode(body) != "bad_scopes" {
		t.Errorf("a personal admin token = %d %v", code, body)
	}
	_, orgSecret := makeToken(t, ada, "/api/admin/tokens", []string{"admin", "meetings:write"}, 0)
	if !strings.HasPrefix(orgSecret, "kaigi_org_") {
		t.Errorf("organisation token %q", orgSecret)
	}
	if code, body := p.call("GET", "/api/admin/users", nil, bearer(orgSecret)...); code != http.StatusOK {
		t.Errorf("admin users with an admin token = %d %v", code, body)
	}
	if code, body := p.call("POST", "/api/meetings", map[string]any{"title": "From CI"}, bearer(orgSecret)...); code != http.StatusCreated {
		t.Errorf("create a meeting with a meetings:write token = %d %v", code, body)
	}
	for _, req := range [][2]string{{"POST", "/api/admin/users"}, {"POST", "/api/admin/users/x/delete"}, {"POST", "/api/admin/tokens"},
		{"GET", "/api/admin/tokens"}, {"POST", "/api/me/delete"}, {"POST", "/api/me/2fa/begin"}, {"GET", "/api/me/export"}, {"POST", "/api/auth/signout-everywhere"}} {
		if code, body := p.call(req[0], req[1], map[string]any{}, bearer(orgSecret)...); code != http.StatusForbidden || errCode(body) != "token_not_allowed" {
			t.Errorf("%s %s with an admin token = %d %v", req[0], req[1], code, body)
		}
	}
}

// TestTokenCannotChangeAPassword: not with any scope, and not by riding
// the cookie of the browser it is sent from.
func TestTokenCannotChangeAPassword(t *testing.T) {
	srv, ada, _, _ := tokenServer(t)
	_, secret := makeToken(t, ada, "/api/admin/tokens", []string{"admin", "meetings:read", "meetings:write"}, 0)
	change := map[string]string{"current": password, "new": "another long password"}
	for _, c := range []*browser{program(t, srv), ada} { // ada's browser also sends its session cookie
		if code, body := c.call("POST", "/api/me/password", change, bearer(secret)...); code != http.StatusForbidden || errCode(body) != "token_not_allowed" {
			t.Fatalf("change the password with a token = %d %v", code, body)
		}
	}
	other := newBrowser(t, srv)
	if code, body := other.call("POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password}); code != http.StatusOK {
		t.Fatalf("the old password no longer works: %d %v", code, body)
	}
	// A wrong bearer token is not saved by the cookie beside it.
	if code, body := ada.call("GET", "/api/me", nil, "Authorization", "Bearer kaigi_pat_wrong"); code != http.StatusUnauthorized || errCode(body) != "bad_token" {
		t.Fatalf("a wrong token with a good cookie = %d %v", code, body)
	}
	if code, body := ada.call("GET", "/api/me", nil, "Authorization", "Basic YWRhOnB3"); code != http.StatusUnauthorized {
		t.Fatalf("basic authentication with a good cookie = %d %v", code, body)
	}
}

// TestRevokedAndExpiredTokensAreRefused, and a token from another site
// is not refused as a cross-site request (it carries no cookie).
func TestRevokedAndExpiredTokensAreRefused(t *testing.T) {
	srv, ada, clock, env := tokenServer(t)
	id, secret := makeToken(t, ada, "/api/me/tokens", []string{"meetings:read", "meetings:write"}, 0)
	_, expiring := makeToken(t, ada, "/api/me/tokens", []string{"meetings:read"}, 1)
	p := program(t, srv)
	if code, body := p.call("POST", "/api/meetings", map[string]any{}, append(bearer(secret), "Sec-Fetch-Site", "cross-site")...); code != http.StatusCreated {
		t.Fatalf("a token's request from another site = %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/meetings", map[string]any{}, "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden || errCode(body) != "cross_origin" {
		t.Fatalf("a cookie's request from another site = %d %v", code, body)
	}
	code, body := ada.call("GET", "/api/me/tokens", nil)
	toks, _ := body["tokens"].([]any)
	if code != http.StatusOK || len(toks) != 2 {
		t.Fatalf("list tokens: %d %v", code, body)
	}
	for _, x := range toks {
		tok := x.(map[string]any)
		if tok["id"] == id && tok["lastUsed"] == nil {
			t.Errorf("the used token has no last use: %v", tok)
		}
		if _, ok := tok["secret"]; ok {
			t.Errorf("the list shows a secret: %v", tok)
		}
	}

	if code, body := ada.call("DELETE", "/api/me/tokens/"+id, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d %v", code, body)
	}
	if code, body := p.call("GET", "/api/meetings", nil, bearer(secret)...); code != http.StatusUnauthorized || errCode(body) != "bad_token" {
		t.Fatalf("a revoked token = %d %v", code, body)
	}
	if code, _ := p.call("GET", "/api/meetings", nil, bearer(expiring)...); code != http.StatusOK {
		t.Fatalf("a token before its expiry = %d", code)
	}
	clock.advance(24*time.Hour + time.Second)
	if code, body := p.call("GET", "/api/meetings", nil, bearer(expiring)...); code != http.StatusUnauthorized || errCode(body) != "bad_token" {
		t.Fatalf("an expired token = %d %v", code, body)
	}

	var created, revoked int
	entries, _ := env.db.AuditEntries(t.Context(), 0, 100)
	for _, e := range entries {
		if e.Details["id"] == id {
			switch e.Action {
			case "token.created":
				created++
			case "token.revoked":
				revoked++
			}
		}
		for _, v := range e.Details {
			if strings.Contains(v, secret[10:]) {
				t.Errorf("the audit log holds the token: %+v", e)
			}
		}
	}
	if created != 1 || revoked != 1 {
		t.Errorf("audit: %d token.created, %d token.revoked for the token", created, revoked)
	}
}

// TestTokensOfASuspendedOrDemotedAccountStop: a member's token stops when
// the account is suspended; an organisation token when its administrator
// is no longer one (deleted).
func TestTokensOfASuspendedAccountStop(t *testing.T) {
	srv, ada, _, _ := tokenServer(t)
	code, body := ada.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password})
	if code != http.StatusCreated {
		t.Fatalf("create Bob: %d %v", code, body)
	}
	bobID := body["user"].(map[string]any)["id"].(string)
	bob := newBrowser(t, srv)
	if code, _ := bob.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password}); code != http.StatusOK {
		t.Fatal("Bob signs in")
	}
	_, secret := makeToken(t, bob, "/api/me/tokens", []string{"meetings:read"}, 0)
	p := program(t, srv)
	if code, _ := p.call("GET", "/api/meetings", nil, bearer(secret)...); code != http.StatusOK {
		t.Fatalf("Bob's token = %d", code)
	}
	if code, body := ada.call("POST", "/api/admin/users/"+bobID+"/suspend", map[string]string{"reason": "test"}); code != http.StatusOK {
		t.Fatalf("suspend: %d %v", code, body)
	}
	if code, body := p.call("GET", "/api/meetings", nil, bearer(secret)...); code != http.StatusUnauthorized {
		t.Fatalf("a suspended account's token = %d %v", code, body)
	}
	ada.call("POST", "/api/admin/users/"+bobID+"/reinstate", map[string]string{"reason": ""})
	if code, _ := p.call("GET", "/api/meetings", nil, bearer(secret)...); code != http.StatusOK {
		t.Fatalf("the token after reinstating = %d", code)
	}
	if code, body := ada.call("POST", "/api/admin/users/"+bobID+"/delete", map[string]string{"reason": "test"}); code != http.StatusNoContent {
		t.Fatalf("delete: %d %v", code, body)
	}
	if code, _ := p.call("GET", "/api/meetings", nil, bearer(secret)...); code != http.StatusUnauthorized {
		t.Fatalf("a deleted account's token = %d", code)
	}
}

// TestWrongBearerTokensAreRateLimited per address, before the token is
// looked at, so a right token from that address waits too; another
// address is not affected.
func TestWrongBearerTokensAreRateLimited(t *testing.T) {
	srv, ada, clock, _ := tokenServer(t)
	_, secret := makeToken(t, ada, "/api/me/tokens", []string{"meetings:read"}, 0)
	h := srv.Config.Handler
	get := func(remote, tok string) int {
		req := httptest.NewRequest("GET", "/api/meetings", nil)
		req.RemoteAddr = remote + ":40000"
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := 0; i < bearerFailures.Burst; i++ {
		if code := get("192.0.2.7", "kaigi_pat_guess"+string(rune('a'+i))); code != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d", i, code)
		}
	}
	if code := get("192.0.2.7", secret); code != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong tokens = %d, want 429", bearerFailures.Burst, code)
	}
	if code := get("192.0.2.8", secret); code != http.StatusOK {
		t.Fatalf("another address = %d", code)
	}
	clock.advance(bearerFailures.Every)
	if code := get("192.0.2.7", secret); code != http.StatusOK {
		t.Fatalf("after waiting = %d", code)
	}
}

// TestTokenRoutesAreRegistered: each route a token may reach is one New
// registers (a typo would silently shut it), and none is an endpoint
// that changes credentials.
func TestTokenRoutesAreRegistered(t *testing.T) {
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := os.ReadFile("webhooks.go")
	src = append(src, ws...)
	for pattern := range tokenRoutes {
		if !strings.Contains(string(src), `HandleFunc("`+pattern+`"`) {
			t.Errorf("tokenRoutes has %q, which is not registered", pattern)
		}
		if regexp.MustCompile(`password|2fa|token|delete|signout|/users/\{|POST /api/admin/users|POST /api/admin/webhooks|PATCH /api/admin/webhooks|DELETE /api/admin`).MatchString(pattern) {
			t.Errorf("tokenRoutes reaches %q, which changes credentials or webhooks", pattern)
		}
	}
}

// TestExportListsTheAccountsTokens: the data export names the tokens that
// act for the account (its own and the organisation's it made), never
// their text.
func TestExportListsTheAccountsTokens(t *testing.T) {
	srv, ada, _, _ := tokenServer(t)
	_, mine := makeToken(t, ada, "/api/me/tokens", []string{"meetings:read"}, 0)
	_, org := makeToken(t, ada, "/api/admin/tokens", []string{"admin"}, 30)
	req, _ := http.NewRequest("GET", srv.URL+"/api/me/export", nil)
	resp, err := ada.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		APITokens []map[string]any `json:"apiTokens"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d %v", resp.StatusCode, err)
	}
	kinds := map[any]int{}
	for _, tok := range body.APITokens {
		kinds[tok["kind"]]++
	}
	if kinds["personal"] != 1 || kinds["org"] != 1 {
		t.Fatalf("the export's tokens: %v", body.APITokens)
	}
	for _, secret := range []string{mine, org, mine[10:], org[10:]} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("the export holds a token's text")
		}
	}
}
