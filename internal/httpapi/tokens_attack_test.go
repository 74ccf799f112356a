package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTokenRouteTricks: a token with every scope, sent from a browser that
// also holds its account's session cookie, reaches no endpoint outside
// tokenRoutes by another spelling of its path or method (a trailing
// slash, dot segments, doubled or escaped slashes, HEAD, OPTIONS, a
// method-override header), and the signalling WebSocket's identity is
// never taken from the cookie beside a bearer header.
func TestTokenRouteTricks(t *testing.T) {
	c := &fakeClock{t: time.Now().UTC()}
	env := newTestEnvAt(t, c.now)
	ws := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "identity="+Identify(env.accounts)(r))
	})
	srv := httptest.NewServer(New(Options{Meetings: env.db, Accounts: env.accounts, Tokens: env.db, Now: c.now, Signal: ws, Web: testWeb, Logger: env.log}))
	t.Cleanup(srv.Close)
	ada := newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")
	_, secret := makeToken(t, ada, "/api/admin/tokens", []string{"admin", "meetings:read", "meetings:write"}, 0)

	// The session's own view, to compare with after the tricks.
	count := func() int {
		t.Helper()
		code, body := ada.call("GET", "/api/me/tokens", nil)
		if code != http.StatusOK {
			t.Fatalf("list tokens with the cookie: %d %v", code, body)
		}
		toks, _ := body["tokens"].([]any)
		return len(toks)
	}
	before := count()

	// ada's jar sends the session cookie with every request; redirects
	// are not followed, so a redirect is an answer, not a way through.
	client := &http.Client{Jar: ada.c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ method, path, override string }{
		{"POST", "/api/me/tokens/", ""},
		{"POST", "/api/me/tokens/.", ""},
		{"POST", "/api/me//tokens", ""},
		{"POST", "/api/meetings/../me/tokens", ""},
		{"POST", "/api/me%2Ftokens", ""},
		{"POST", "/API/me/tokens", ""},
		{"GET", "/api/me/tokens/", ""},
		{"HEAD", "/api/me/tokens", ""},
		{"OPTIONS", "/api/me/tokens", ""},
		{"GET", "/api/me/tokens", ""},
		{"GET", "/api/me/export", ""},
		{"POST", "/api/me/tokens", "GET"},
		{"GET", "/api/meetings", "POST"}, // allowed as GET: the override must not make it a POST elsewhere
		{"POST", "/api/auth/signout-everywhere", ""},
		{"POST", "/api/me/password", ""},
		{"PUT", "/api/admin/sso", ""},
		{"POST", "/api/me/passkeys/begin", ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(`{"name":"sneaky","scopes":["meetings:read"],"current":"`+password+`","new":"another long password"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+secret)
		if tc.override != "" {
			req.Header.Set("X-HTTP-Method-Override", tc.override)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ok := resp.StatusCode >= 300
		if tc.method == "GET" && tc.path == "/api/meetings" {
			ok = resp.StatusCode == http.StatusOK // a token route, with its scope
		}
		if !ok {
			t.Errorf("%s %s (override %q) with a token = %d %s", tc.method, tc.path, tc.override, resp.StatusCode, body)
		}
	}
	if after := count(); after != before {
		t.Fatalf("tokens: %d before the tricks, %d after", before, after)
	}
	other := newBrowser(t, srv)
	if code, body := other.call("POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password}); code != http.StatusOK {
		t.Fatalf("the password changed: %d %v", code, body)
	}

	// The signalling socket: the cookie alone identifies Ada; the cookie
	// beside a bearer header (valid or not) identifies no one.
	wsID := func(hdr ...string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/ws", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimPrefix(string(b), "identity=")
	}
	if id := wsID(); id == "" {
		t.Fatal("the socket does not see the cookie's account at all")
	}
	for _, auth := range []string{"Bearer " + secret, "Bearer kaigi_pat_wrong", "Basic YWRhOnB3"} {
		if id := wsID("Authorization", auth); id != "" {
			t.Errorf("the socket with Authorization %q took the cookie's account %q", auth[:10], id)
		}
	}
}
