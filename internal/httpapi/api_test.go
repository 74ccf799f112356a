package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// browser is an HTTP client with its own cookies, like one browser.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newAPIServer(t *testing.T) (*httptest.Server, *testEnv) {
	t.Helper()
	h, env := newTestHandler(t, testWeb)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, env
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: srv.URL, c: &http.Client{Jar: jar}}
}

// call sends a JSON request and returns the status and decoded body.
func (b *browser) call(method, path string, body any, hdr ...string) (int, map[string]any) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			b.t.Fatalf("%s %s: %q is not JSON", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

const password = "a long enough password"

func signUp(t *testing.T, b *browser, email, name string) {
	t.Helper()
	if code, body := b.call("POST", "/api/auth/signup", map[string]string{"email": email, "name": name, "password": password}); code != http.StatusCreated {
		t.Fatalf("sign up %s: %d %v", email, code, body)
	}
}

func TestSignUpSignInCookie(t *testing.T) {
	srv, _ := newAPIServer(t)
	ada := newBrowser(t, srv)

	// The cookie's flags are only visible in the raw header.
	j, _ := json.Marshal(map[string]string{"email": "ada@example.org", "name": "Ada", "password": password})
	resp, err := http.Post(srv.URL+"/api/auth/signup", "application/json", bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusCreated || !strings.Contains(sc, SessionCookie+"=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Fatalf("sign-up: %d, Set-Cookie %q", resp.StatusCode, sc)
	}

	if code, body := ada.call("GET", "/api/me", nil); code != http.StatusUnauthorized || errCode(body) != "not_signed_in" {
		t.Fatalf("me without a session = %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": "wrong password!!"}); code != http.StatusUnauthorized || errCode(body) != "bad_credentials" {
		t.Fatalf("wrong password = %d %v", code, body)
	}
	if code, _ := ada.call("POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password}); code != http.StatusOK {
		t.Fatalf("sign in = %d", code)
	}
	code, body := ada.call("GET", "/api/me", nil)
	user, _ := body["user"].(map[string]any)
	if code != http.StatusOK || user["email"] != "ada@example.org" || user["role"] != "admin" || user["twoFactor"] != false {
		t.Fatalf("me = %d %v", code, body)
	}
	// Sign-up is closed after the first account.
	if code, body := newBrowser(t, srv).call("POST", "/api/auth/signup", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusForbidden || errCode(body) != "signup_closed" {
		t.Fatalf("second sign-up = %d %v", code, body)
	}
	if code, _ := ada.call("POST", "/api/auth/signout", nil); code != http.StatusNoContent {
		t.Fatalf("sign out = %d", code)
	}
	if code, _ := ada.call("GET", "/api/me", nil); code != http.StatusUnauthorized {
		t.Fatalf("me after sign-out = %d", code)
	}
}

func TestStrictRequestBodies(t *testing.T) {
	srv, _ := newAPIServer(t)
	b := newBrowser(t, srv)
	for _, body := range []string{`{"email":"a@example.org","name":"A","password":"x","admin":true}`, `not json`, `{"email":1}`,
		`{"email":"a@example.org"} {"again":1}`, `{"email":"` + strings.Repeat("a", 20000) + `"}`} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/auth/signup", strings.NewReader(body))
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || errCode(out) != "bad_request" {
			t.Errorf("body %.40q: %d %v", body, resp.StatusCode, out)
		}
	}
}

func TestMeetingsAPI(t *testing.T) {
	srv, env := newAPIServer(t)
	host, guest := newBrowser(t, srv), newBrowser(t, srv)
	if code, body := guest.call("POST", "/api/meetings", nil); code != http.StatusUnauthorized || errCode(body) != "not_signed_in" {
		t.Fatalf("a guest created a meeting: %d %v", code, body)
	}
	signUp(t, host, "ada@example.org", "Ada")

	code, m := host.call("POST", "/api/meetings", nil)
	if code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, m)
	}
	id, _ := m["id"].(string)
	pc, _ := m["passcode"].(string)
	settings, _ := m["settings"].(map[string]any)
	if _, err := meeting.ParseID(id); err != nil || len(pc) != 9 || settings["waitingRoom"] != true || settings["screenShare"] != "hosts" {
		t.Fatalf("created meeting %v: not the safe defaults", m)
	}
	if m["inviteUrl"] != m["url"].(string)+"#pwd="+pc+"&e2ee=1" || m["title"] != "Ada's meeting" || m["owner"] != true {
		t.Fatalf("owner view %v", m)
	}

	// Anyone with the link learns what the join screen needs, not the passcode.
	code, pub := guest.call("GET", "/api/meetings/"+id, nil)
	if code != http.StatusOK || pub["needsPasscode"] != true || pub["passcode"] != nil || pub["settings"] != nil || pub["host"] != "Ada" || pub["owner"] != false {
		t.Fatalf("public view = %d %v", code, pub)
	}
	if code, body := guest.call("GET", "/api/meetings/0000-0000-0000-0000", nil); code != http.StatusNotFound || errCode(body) != "meeting_not_found" {
		t.Fatalf("unknown meeting = %d %v", code, body)
	}

	// Only the owner changes it; to others it does not exist.
	if code, _ := guest.call("PATCH", "/api/meetings/"+id, map[string]any{"title": "Mine now"}); code != http.StatusUnauthorized {
		t.Fatalf("a guest changed a meeting: %d", code)
	}
	code, upd := host.call("PATCH", "/api/meetings/"+id, map[string]any{"title": "Planning", "settings": map[string]any{
		"passcode": true, "waitingRoom": false, "screenShare": "everyone", "unmute": "hosts", "chat": "everyone", "rename": "hosts"}, "newPasscode": true})
	if code != http.StatusOK || upd["title"] != "Planning" || upd["passcode"] == pc {
		t.Fatalf("update = %d %v", code, upd)
	}
	if code, body := host.call("PATCH", "/api/meetings/"+id, map[string]any{"settings": map[string]any{"screenShare": "nobody"}}); code != http.StatusBadRequest {
		t.Fatalf("bad settings accepted: %d %v", code, body)
	}
	stored, _ := env.db.Meeting(t.Context(), meeting.ID(id))
	if stored.Title != "Planning" || stored.Settings.WaitingRoom || stored.Passcode != upd["passcode"] {
		t.Fatalf("stored %+v", stored)
	}

	code, sched := host.call("POST", "/api/meetings", map[string]any{"kind": "scheduled", "title": "Standup",
		"startsAt": time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).Format(time.RFC3339), "durationMinutes": 15})
	if code != http.StatusCreated || sched["kind"] != "scheduled" || sched["durationMinutes"] != float64(15) {
		t.Fatalf("scheduled = %d %v", code, sched)
	}
	if code, _ := host.call("POST", "/api/meetings", map[string]any{"kind": "scheduled"}); code != http.StatusBadRequest {
		t.Fatalf("scheduled without a time = %d", code)
	}
	code, list := host.call("GET", "/api/meetings", nil)
	ms, _ := list["meetings"].([]any)
	if code != http.StatusOK || len(ms) != 3 || ms[0].(map[string]any)["kind"] != "personal" {
		t.Fatalf("list = %d %v", code, list)
	}
	personal := ms[0].(map[string]any)["id"].(string)
	if code, _ := host.call("DELETE", "/api/meetings/"+personal, nil); code != http.StatusBadRequest {
		t.Fatalf("deleted the personal room: %d", code)
	}
	if code, _ := host.call("DELETE", "/api/meetings/"+sched["id"].(string), nil); code != http.StatusNoContent {
		t.Fatalf("delete = %d", code)
	}
}

func TestCrossOriginWritesRefused(t *testing.T) {
	srv, _ := newAPIServer(t)
	b := newBrowser(t, srv)
	signUp(t, b, "ada@example.org", "Ada")
	code, body := b.call("POST", "/api/meetings", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if code != http.StatusForbidden || errCode(body) != "cross_origin" {
		t.Fatalf("cross-site create = %d %v", code, body)
	}
	code, body = b.call("POST", "/api/auth/signout", nil, "Sec-Fetch-Site", "cross-site")
	if code != http.StatusForbidden {
		t.Fatalf("cross-site sign-out = %d %v", code, body)
	}
	if code, _ := b.call("GET", "/api/me", nil); code != http.StatusOK {
		t.Fatal("the refused cross-site sign-out signed us out")
	}
}

func TestTwoFactorOverHTTP(t *testing.T) {
	srv, _ := newAPIServer(t)
	b := newBrowser(t, srv)
	signUp(t, b, "ada@example.org", "Ada")
	code, e := b.call("POST", "/api/me/2fa/begin", nil)
	secret, _ := e["secret"].(string)
	if qr, _ := e["qr"].(string); code != http.StatusOK || secret == "" || !strings.HasPrefix(qr, "data:image/png;base64,") {
		t.Fatalf("begin = %d %v", code, e)
	}
	now, _ := auth.TOTPCode(secret, time.Now())
	code, c := b.call("POST", "/api/me/2fa/confirm", map[string]string{"code": now})
	codes, _ := c["recoveryCodes"].([]any)
	if code != http.StatusOK || len(codes) != 10 {
		t.Fatalf("confirm = %d %v", code, c)
	}
	b.call("POST", "/api/auth/signout", nil)

	code, s := b.call("POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password})
	challenge, _ := s["challenge"].(string)
	if code != http.StatusOK || s["next"] != "code" || challenge == "" || b.cookie(SessionCookie) != nil {
		t.Fatalf("password step = %d %v (and no session yet)", code, s)
	}
	if code, _ := b.call("GET", "/api/me", nil); code != http.StatusUnauthorized {
		t.Fatal("signed in before the second factor")
	}
	// The code just used for enrolment cannot be replayed; a recovery code works.
	if code, body := b.call("POST", "/api/auth/signin/code", map[string]string{"challenge": challenge, "code": now}); code != http.StatusUnauthorized || errCode(body) != "bad_code" {
		t.Fatalf("replayed code = %d %v", code, body)
	}
	if code, _ := b.call("POST", "/api/auth/signin/code", map[string]string{"challenge": challenge, "code": codes[0].(string)}); code != http.StatusOK {
		t.Fatalf("recovery code = %d", code)
	}
	code, me := b.call("GET", "/api/me", nil)
	user, _ := me["user"].(map[string]any)
	if code != http.StatusOK || user["twoFactor"] != true || user["recoveryCodesLeft"] != float64(9) {
		t.Fatalf("me = %d %v", code, me)
	}
}

func TestOrganisationRequiresTwoFactor(t *testing.T) {
	srv, _ := newAPIServer(t)
	admin, member := newBrowser(t, srv), newBrowser(t, srv)
	signUp(t, admin, "ada@example.org", "Ada")
	if code, body := admin.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusCreated {
		t.Fatalf("create member = %d %v", code, body)
	}
	member.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password})
	if code, _ := member.call("GET", "/api/admin/users", nil); code != http.StatusForbidden {
		t.Fatalf("a member listed users: %d", code)
	}
	code, org := admin.call("GET", "/api/admin/org", nil)
	if code != http.StatusOK {
		t.Fatalf("get org = %d", code)
	}
	org["require2FA"] = true
	if code, body := admin.call("PUT", "/api/admin/org", org); code != http.StatusOK || body["require2FA"] != true {
		t.Fatalf("put org = %d %v", code, body)
	}
	code, body := member.call("POST", "/api/meetings", nil)
	if code != http.StatusForbidden || errCode(body) != "two_factor_required" {
		t.Fatalf("member without two-factor created a meeting: %d %v", code, body)
	}
	code, me := member.call("GET", "/api/me", nil)
	if code != http.StatusOK || me["twoFactorRequired"] != true {
		t.Fatalf("me = %d %v", code, me)
	}
	// Members see the organisation's meeting defaults (for the new-meeting form).
	orgOfMe, _ := me["organisation"].(map[string]any)
	defaults, _ := orgOfMe["meetingDefaults"].(map[string]any)
	if defaults["waitingRoom"] != true || defaults["screenShare"] != "hosts" {
		t.Fatalf("me.organisation.meetingDefaults = %v", orgOfMe["meetingDefaults"])
	}
}

func TestMeetingLookupsAreRateLimited(t *testing.T) {
	srv, _ := newAPIServer(t)
	b := newBrowser(t, srv)
	var last int
	for range 40 {
		last, _ = b.call("GET", "/api/meetings/0000-0000-0000-0000", nil)
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("the 40th look-up in a row = %d, want 429", last)
	}
}

func TestServerInfoAndPasswordChange(t *testing.T) {
	srv, _ := newAPIServer(t)
	b, other := newBrowser(t, srv), newBrowser(t, srv)
	if code, info := b.call("GET", "/api/server", nil); code != http.StatusOK || info["signUpOpen"] != true {
		t.Fatalf("fresh server info = %d %v (the first sign-up is open)", code, info)
	}
	signUp(t, b, "ada@example.org", "Ada")
	if _, info := b.call("GET", "/api/server", nil); info["signUpOpen"] != false {
		t.Fatalf("after the first account: %v", info)
	}
	other.call("POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password})

	if code, body := b.call("POST", "/api/me/password", map[string]string{"current": "wrong password!", "new": "a brand new password"}); code != http.StatusUnauthorized || errCode(body) != "bad_credentials" {
		t.Fatalf("wrong current password = %d %v", code, body)
	}
	if code, body := b.call("POST", "/api/me/password", map[string]string{"current": password, "new": "short"}); code != http.StatusBadRequest || errCode(body) != "weak_password" {
		t.Fatalf("weak new password = %d %v", code, body)
	}
	if code, _ := b.call("POST", "/api/me/password", map[string]string{"current": password, "new": "a brand new password"}); code != http.StatusNoContent {
		t.Fatalf("change = %d", code)
	}
	if code, _ := b.call("GET", "/api/me", nil); code != http.StatusOK {
		t.Fatal("the session that changed the password was signed out")
	}
	if code, _ := other.call("GET", "/api/me", nil); code != http.StatusUnauthorized {
		t.Fatal("another session survived the password change")
	}
	if code, _ := other.call("POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": "a brand new password"}); code != http.StatusOK {
		t.Fatal("the new password does not sign in")
	}
}

// Without public_url, links are built from the address the request
// reached, never from its Host header: a forged Host must not turn the
// links the server hands out into links to someone else's site.
func TestLinksIgnoreAForgedHost(t *testing.T) {
	srv, _ := newAPIServer(t)
	host := newBrowser(t, srv)
	signUp(t, host, "ada@example.org", "Ada")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	forged := func(method, path string, hostHeader ...string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Host = "evil.example"
		if len(hostHeader) > 0 {
			req.Host = hostHeader[0]
		}
		req.AddCookie(host.cookie(SessionCookie))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
			t.Fatalf("%s %s with Host evil.example = %d %v (%v)", method, path, resp.StatusCode, out, err)
		}
		return out
	}
	check := func(what string, m map[string]any) {
		t.Helper()
		for _, k := range []string{"url", "inviteUrl"} {
			if s, _ := m[k].(string); !strings.HasPrefix(s, srv.URL+"/m/") {
				t.Errorf("%s: %s = %q, want it on %s", what, k, s, srv.URL)
			}
		}
	}
	m := forged("POST", "/api/meetings")
	check("created", m)
	check("looked up", forged("GET", "/api/meetings/"+m["id"].(string)))
	list, _ := forged("GET", "/api/meetings")["meetings"].([]any)
	for _, m := range list {
		check("listed", m.(map[string]any))
	}
	for _, h := range []string{"127.0.0.1:1", "127.0.0.1", "evil.example:" + port, "localhost.evil.example:" + port} {
		check("Host "+h, forged("GET", "/api/meetings/"+m["id"].(string), h))
	}
	// A Host that names the address reached is kept, so a browser on
	// localhost stays on its own origin (and keeps its session).
	if got := forged("GET", "/api/meetings/"+m["id"].(string), "localhost:"+port)["url"]; got != "http://localhost:"+port+"/m/"+m["id"].(string) {
		t.Errorf("Host localhost:%s: url = %v", port, got)
	}
}

func TestTitlesRefuseHiddenCharacters(t *testing.T) {
	srv, _ := newAPIServer(t)
	host := newBrowser(t, srv)
	signUp(t, host, "ada@example.org", "Ada")
	code, m := host.call("POST", "/api/meetings", map[string]any{"title": "Planning 👩🏽‍💻"})
	if code != http.StatusCreated || m["title"] != "Planning 👩🏽‍💻" {
		t.Fatalf("create = %d %v", code, m)
	}
	id := m["id"].(string)
	for _, title := range []string{"Plan\u200bning", "\u202egninnalP", "Planning\u2066", "\ufeffPlanning", "Plan\u00adning", "Plan\u0085ning", "Plan\u2028ning", "Plan\nning"} {
		if code, body := host.call("POST", "/api/meetings", map[string]any{"title": title}); code != http.StatusBadRequest {
			t.Errorf("create with title %q = %d %v", title, code, body)
		}
		if code, body := host.call("PATCH", "/api/meetings/"+id, map[string]any{"title": title}); code != http.StatusBadRequest {
			t.Errorf("rename to %q = %d %v", title, code, body)
		}
	}
}
