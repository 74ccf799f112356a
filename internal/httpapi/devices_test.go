package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// cookieBrowser is one browser's cookies for the handler, sent by path
// as a browser would (a cookie with Path=/api/auth/ only to /api/auth/...).
type cookieBrowser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]*http.Cookie
}

func newCookieBrowser(t *testing.T, h http.Handler) *cookieBrowser {
	return &cookieBrowser{t: t, h: h, cookies: map[string]*http.Cookie{}}
}

// post sends a JSON body (nil: none) from remote with the browser's
// cookies, keeps the cookies the answer sets, and returns the answer.
func (b *cookieBrowser) post(remote, method, path string, body any) *httptest.ResponseRecorder {
	b.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = remote + ":40000"
	for _, c := range b.cookies {
		if strings.HasPrefix(path, c.Path) {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return rec
}

// signInWithCode is the password step and then the code step.
func (b *cookieBrowser) signInWithCode(remote, code string) *httptest.ResponseRecorder {
	b.t.Helper()
	rec := b.post(remote, "POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password})
	var out struct{ Next, Challenge string }
	json.Unmarshal(rec.Body.Bytes(), &out)
	if rec.Code != http.StatusOK || out.Next != "code" || out.Challenge == "" {
		b.t.Fatalf("password step from %s = %d %s, want a challenge", remote, rec.Code, rec.Body)
	}
	return b.post(remote, "POST", "/api/auth/signin/code", map[string]string{"challenge": out.Challenge, "code": code})
}

func setCookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestKnownBrowserSignsInWhileOthersGuessCodes, through the real
// handlers: the owner signs in fully once (the known-device cookie is
// set, with its attributes), signs out (the cookie stays), someone with
// her password guesses codes from other addresses until refused, and her
// browser then signs in with password and code at once; a browser
// without the cookie waits, which is the documented trade-off.
func TestKnownBrowserSignsInWhileOthersGuessCodes(t *testing.T) {
	h, clock := lockoutServer(t)
	owner := newCookieBrowser(t, h)
	const home = "192.0.2.1"

	// Sign in (no two-factor yet) and turn two-factor on.
	rec := owner.post(home, "POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password})
	wantCode(t, "sign-in", rec.Code, rec.Body.String(), http.StatusOK, "")
	rec = owner.post(home, "POST", "/api/me/2fa/begin", nil)
	var e struct{ Secret string }
	json.Unmarshal(rec.Body.Bytes(), &e)
	if rec.Code != http.StatusOK || e.Secret == "" {
		t.Fatalf("begin two-factor = %d %s", rec.Code, rec.Body)
	}
	code, _ := auth.TOTPCode(e.Secret, clock.now())
	rec = owner.post(home, "POST", "/api/me/2fa/confirm", map[string]string{"code": code})
	wantCode(t, "confirm two-factor", rec.Code, rec.Body.String(), http.StatusOK, "")
	owner.post(home, "POST", "/api/auth/signout", nil)
	delete(owner.cookies, DeviceCookie) // (known since the first sign-in; start afresh)

	// A full sign-in sets the known-device cookie.
	clock.advance(time.Minute)
	code, _ = auth.TOTPCode(e.Secret, clock.now())
	rec = owner.signInWithCode(home, code)
	wantCode(t, "the owner's first full sign-in", rec.Code, rec.Body.String(), http.StatusOK, "")
	dc := setCookie(rec, DeviceCookie)
	if dc == nil || dc.Value == "" {
		t.Fatalf("a full sign-in set no %s cookie: %v", DeviceCookie, rec.Header().Values("Set-Cookie"))
	}
	if !dc.HttpOnly || dc.SameSite != http.SameSiteStrictMode || dc.Path != "/api/auth/" || dc.MaxAge != int(auth.DeviceLifetime.Seconds()) || dc.Secure {
		t.Fatalf("the known-device cookie is %q: want HttpOnly, SameSite=Strict, Path=/api/auth/, Max-Age a year, not Secure over plain HTTP", rec.Header().Values("Set-Cookie"))
	}
	if dc.Value == setCookie(rec, SessionCookie).Value {
		t.Fatal("the known-device cookie is the session")
	}
	// It is never a session.
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: dc.Value})
	me := httptest.NewRecorder()
	h.ServeHTTP(me, req)
	wantCode(t, "the known-device token as a session", me.Code, me.Body.String(), http.StatusUnauthorized, "not_signed_in")

	// Signing out keeps it.
	rec = owner.post(home, "POST", "/api/auth/signout", nil)
	if c := setCookie(rec, DeviceCookie); c != nil {
		t.Fatalf("signing out touched the known-device cookie: %v", rec.Header().Values("Set-Cookie"))
	}
	if owner.cookies[DeviceCookie] == nil || owner.cookies[SessionCookie] != nil {
		t.Fatalf("after signing out the browser holds %v", owner.cookies)
	}

	// Someone with the password guesses codes from other addresses, with
	// no cookie, with junk cookies, or with many.
	clock.advance(time.Minute)
	checked := 0
	for i := range 20 {
		guesser := newCookieBrowser(t, h)
		switch i % 3 {
		case 1:
			guesser.cookies[DeviceCookie] = &http.Cookie{Name: DeviceCookie, Value: strings.Repeat("A", 4000), Path: "/"}
		case 2:
			guesser.cookies[DeviceCookie] = &http.Cookie{Name: DeviceCookie, Value: strings.Repeat(dc.Value[:len(dc.Value)-2]+"AA.", 4) + "x", Path: "/"}
		}
		rec := guesser.signInWithCode(fmt.Sprintf("203.0.113.%d", i+1), "000000")
		if rec.Code == http.StatusTooManyRequests {
			break
		}
		wantCode(t, fmt.Sprintf("guess %d", i+1), rec.Code, rec.Body.String(), http.StatusUnauthorized, "bad_code")
		checked++
	}
	if checked != auth.DefaultLimits.CodePerUser.Burst {
		t.Fatalf("%d guessed codes were checked before a refusal, want the account's %d", checked, auth.DefaultLimits.CodePerUser.Burst)
	}

	code, _ = auth.TOTPCode(e.Secret, clock.now())
	elsewhere := newCookieBrowser(t, h)
	rec = elsewhere.signInWithCode(home, code)
	wantCode(t, "the right code from a browser the server does not know", rec.Code, rec.Body.String(), http.StatusTooManyRequests, "rate_limited")

	rec = owner.signInWithCode(home, code)
	wantCode(t, "the owner's right code from her known browser while others guess", rec.Code, rec.Body.String(), http.StatusOK, "")
	rec = owner.post(home, "GET", "/api/me", nil)
	wantCode(t, "the owner's session", rec.Code, rec.Body.String(), http.StatusOK, "")
}

// TestKnownDeviceCookieIsSecureOverHTTPS: like the session cookie.
func TestKnownDeviceCookieIsSecureOverHTTPS(t *testing.T) {
	env := newTestEnv(t)
	h := New(Options{Meetings: env.db, Accounts: env.accounts, Signal: http.NotFoundHandler(), Web: testWeb, Logger: env.log, PublicURL: "https://meet.example.org"})
	b := newCookieBrowser(t, h)
	rec := b.post("192.0.2.1", "POST", "/api/auth/signup", map[string]string{"email": "ada@example.org", "name": "Ada", "password": password})
	wantCode(t, "sign up", rec.Code, rec.Body.String(), http.StatusCreated, "")
	rec = b.post("192.0.2.1", "POST", "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": password})
	wantCode(t, "sign in", rec.Code, rec.Body.String(), http.StatusOK, "")
	if c := setCookie(rec, DeviceCookie); c == nil || !c.Secure {
		t.Fatalf("over HTTPS the known-device cookie is %q, want Secure", rec.Header().Values("Set-Cookie"))
	}
}
