package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeClock is the accounts' clock in these tests: limits move only when
// the test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// lockoutServer is the API with the default limits and a fake clock, and
// one account (ada@example.org, password) without two-factor.
func lockoutServer(t *testing.T) (http.Handler, *fakeClock) {
	t.Helper()
	c := &fakeClock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	env := newTestEnvAt(t, c.now)
	h := New(Options{Meetings: env.db, Accounts: env.accounts, Signal: http.NotFoundHandler(), Web: testWeb, Logger: env.log})
	if code, body := signInFrom(h, "192.0.2.200", "/api/auth/signup", map[string]string{"email": "ada@example.org", "name": "Ada", "password": password}); code != http.StatusCreated {
		t.Fatalf("sign up: %d %s", code, body)
	}
	return h, c
}

// signInFrom posts a JSON body as if from remote (an IPv4 or IPv6
// address) and returns the status and raw body.
func signInFrom(h http.Handler, remote, path string, body map[string]string) (int, string) {
	j, _ := json.Marshal(body)
	req := httptest.NewRequest("POST", path, bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = remote + ":40000"
	if len(remote) > 0 && remote[0] != '[' && bytes.ContainsRune([]byte(remote), ':') {
		req.RemoteAddr = "[" + remote + "]:40000"
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func signInAs(h http.Handler, remote, pass string) (int, string) {
	return signInFrom(h, remote, "/api/auth/signin", map[string]string{"email": "ada@example.org", "password": pass})
}

func wantCode(t *testing.T, what string, code int, body string, status int, errCode string) {
	t.Helper()
	var out map[string]any
	json.Unmarshal([]byte(body), &out)
	e, _ := out["error"].(map[string]any)
	if code != status || (errCode != "" && e["code"] != errCode) {
		t.Fatalf("%s = %d %s, want %d %s", what, code, body, status, errCode)
	}
}

// TestOthersFailuresNeverLockTheOwnerOut: however many wrong passwords
// others send, from one address or many, the right password from another
// address signs in at once.
func TestOthersFailuresNeverLockTheOwnerOut(t *testing.T) {
	for _, tt := range []struct {
		name     string
		guessers func(i int) string
		guesses  int
	}{
		{"one address, the account's budget", func(int) string { return "198.51.100.7" }, 5},
		{"one address, to its own limit", func(int) string { return "198.51.100.7" }, 40},
		{"many addresses", func(i int) string { return fmt.Sprintf("203.0.113.%d", i%200+1) }, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := lockoutServer(t)
			for i := range tt.guesses {
				code, body := signInAs(h, tt.guessers(i), fmt.Sprintf("guess number %d", i))
				if code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
					t.Fatalf("guess %d = %d %s", i, code, body)
				}
			}
			code, body := signInAs(h, "192.0.2.1", password)
			wantCode(t, "the owner's password from another address", code, body, http.StatusOK, "")
		})
	}
}

// TestGuessingAddressIsThrottled: the guesser's own address is slowed. The
// account's five free failures answer bad_credentials; beyond them each
// wrong password still answers bad_credentials but holds the address that
// sent it back (1 s, then 2 s, 4 s ... at most a minute), and while it is
// held that address is refused before its password is looked at: even the
// right password, with the same answer as a wrong one.
func TestGuessingAddressIsThrottled(t *testing.T) {
	h, clock := lockoutServer(t)
	const a = "198.51.100.7"
	for i := range 6 {
		code, body := signInAs(h, a, fmt.Sprintf("guess number %d", i))
		wantCode(t, fmt.Sprintf("guess %d", i+1), code, body, http.StatusUnauthorized, "bad_credentials")
	}
	wrongCode, wrongBody := signInAs(h, a, "guess number 7")
	wantCode(t, "a wrong password from the held address", wrongCode, wrongBody, http.StatusTooManyRequests, "rate_limited")
	rightCode, rightBody := signInAs(h, a, password)
	if rightCode != wrongCode || rightBody != wrongBody {
		t.Fatalf("the held address can tell a right password (%d %s) from a wrong one (%d %s)", rightCode, rightBody, wrongCode, wrongBody)
	}
	code, body := signInAs(h, "192.0.2.1", password)
	wantCode(t, "the owner from another address meanwhile", code, body, http.StatusOK, "")

	// The next failure beyond the budget holds the address for 2 s.
	clock.advance(time.Second)
	code, body = signInAs(h, a, "guess number 8")
	wantCode(t, "guess 8 after the first hold", code, body, http.StatusUnauthorized, "bad_credentials")
	clock.advance(time.Second)
	code, body = signInAs(h, a, password)
	wantCode(t, "1 s into a 2 s hold", code, body, http.StatusTooManyRequests, "rate_limited")
	clock.advance(time.Second)
	code, body = signInAs(h, a, password)
	wantCode(t, "the right password from the guessing address once its hold ran out", code, body, http.StatusOK, "")
}

// TestIPv6GuesserIsOneAddressPerSlash64: rotating addresses inside one
// /64 does not buy more attempts; another /64 is not slowed by it.
func TestIPv6GuesserIsOneAddressPerSlash64(t *testing.T) {
	h, _ := lockoutServer(t)
	limited := -1
	for i := range 40 {
		// A spray over many (unknown) accounts, so no account's budget
		// is involved: only the address limit.
		code, body := signInFrom(h, fmt.Sprintf("2001:db8:1:2::%x", i+1), "/api/auth/signin",
			map[string]string{"email": fmt.Sprintf("user%d@example.org", i), "password": "a guessed password"})
		if code == http.StatusTooManyRequests {
			limited = i
			break
		}
		wantCode(t, fmt.Sprintf("attempt %d", i+1), code, body, http.StatusUnauthorized, "bad_credentials")
	}
	if limited != 20 {
		t.Fatalf("addresses in one /64 were limited after %d attempts, want after the burst of 20", limited)
	}
	code, body := signInAs(h, "2001:db8:1:3::1", password)
	wantCode(t, "the owner from the next /64", code, body, http.StatusOK, "")
	code, body = signInAs(h, "::ffff:198.51.100.9", password)
	wantCode(t, "the owner from an IPv4 address", code, body, http.StatusOK, "")
}
