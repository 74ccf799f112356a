package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// signInFully signs an account with two-factor in from ip with the
// browser's known-device cookie, and returns the cookie the browser is
// given back.
func signInFully(t *testing.T, f *fixture, email, secret, ip, cookie string) auth.SignInResult {
	t.Helper()
	res, err := f.svc.SignIn(ctx, email, pw, ip, cookie)
	if err != nil || res.Challenge == "" {
		t.Fatalf("password step = %+v, %v", res, err)
	}
	code, _ := auth.TOTPCode(secret, f.clock.now())
	done, err := f.svc.SignInCode(ctx, res.Challenge, code, ip, cookie)
	if err != nil || done.Token == "" {
		t.Fatalf("code step = %+v, %v", done, err)
	}
	return done
}

// guessCodes is someone who has ada's password but not her authenticator
// guessing codes, each from a fresh address and a fresh challenge, with
// no known-device cookie (or the one given); it returns how many guesses
// were checked (answered bad_code) before the first refusal.
func guessCodes(t *testing.T, f *fixture, n int, from string, cookie string) int {
	t.Helper()
	checked := 0
	for i := range n {
		ip := fmt.Sprintf(from, i+1)
		res, err := f.svc.SignIn(ctx, "ada@example.org", pw, ip)
		if err != nil {
			t.Fatalf("guesser's password step %d = %v", i, err)
		}
		_, err = f.svc.SignInCode(ctx, res.Challenge, "000000", ip, cookie)
		switch {
		case errors.Is(err, auth.ErrBadCode):
			checked++
		case errors.Is(err, auth.ErrRateLimited):
			return checked
		default:
			t.Fatalf("guess %d = %v, want bad_code or rate_limited", i, err)
		}
	}
	return checked
}

// TestKnownDeviceSignsInDuringCodeGuessing: someone with the password
// spends the account's budget of wrong codes from other addresses; the
// owner on a browser they signed in from before still gets in at once
// with the right code. On a browser the server does not know (or with
// another account's known-device token) the owner waits like the
// guesser: that is what keeps guessing codes slow for someone who has
// the password.
func TestKnownDeviceSignsInDuringCodeGuessing(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	secret, _ := enrol(t, f, ada)
	if _, err := f.svc.CreateUser(ctx, ada, "bob@example.org", "Bob", pw, auth.RoleMember); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Minute)
	known := signInFully(t, f, "ada@example.org", secret, "10.0.0.1", "").Device
	if known == "" {
		t.Fatal("a full sign-in gave no known-device token")
	}
	bob, err := f.svc.SignIn(ctx, "bob@example.org", pw, "10.0.0.3")
	if err != nil || bob.Token == "" || bob.Device == "" {
		t.Fatalf("bob's sign-in without two-factor = %+v, %v; want a session and a known-device token", bob, err)
	}
	f.clock.advance(time.Minute)

	if n := guessCodes(t, f, 20, "203.0.113.%d", ""); n != auth.DefaultLimits.CodePerUser.Burst {
		t.Fatalf("guessing from unknown devices checked %d codes before a refusal, want the account's %d", n, auth.DefaultLimits.CodePerUser.Burst)
	}
	code, _ := auth.TOTPCode(secret, f.clock.now())
	for _, tc := range []struct{ what, cookie string }{
		{"no known-device token", ""},
		{"bob's known-device token", bob.Device},
		{"a forged token", forge(known)},
	} {
		res, _ := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.2", tc.cookie)
		if _, err := f.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.2", tc.cookie); !errors.Is(err, auth.ErrRateLimited) {
			t.Fatalf("the right code with %s while the account's budget is spent = %v, want rate_limited (the trade-off)", tc.what, err)
		}
	}
	res, _ := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.2", known)
	done, err := f.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.2", known)
	if err != nil || done.Token == "" {
		t.Fatalf("the owner's right code from her known browser while others guess = %+v, %v; want a session at once", done, err)
	}
	if u, err := f.svc.Authenticate(ctx, done.Token); err != nil || u.ID != ada.ID {
		t.Fatalf("the session = %+v, %v", u, err)
	}
	if done.Device == "" || !auth.KnownDevice(f.svc, mustUser(t, f, ada.ID), done.Device) {
		t.Fatal("the sign-in did not renew the browser's known-device token")
	}

	if logs := f.logs.String(); strings.Contains(logs, known) || strings.Contains(logs, done.Device) || !strings.Contains(logs, "known_device=true") {
		t.Fatalf("the log holds a known-device token, or does not say a known device signed in:\n%s", logs)
	}

	// Guessing from unknown devices is still held to the account's
	// budget: nothing now, one more code after 30 s.
	if n := guessCodes(t, f, 3, "198.51.100.%d", ""); n != 0 {
		t.Fatalf("%d guesses checked with the account's budget spent", n)
	}
	f.clock.advance(auth.DefaultLimits.CodePerUser.Every)
	if n := guessCodes(t, f, 3, "198.51.100.%d", ""); n != 1 {
		t.Fatalf("%d guesses checked 30 s later, want 1", n)
	}
}

// TestKnownDeviceBudgetIsItsOwn: wrong codes from a known device spend
// that device's budget (the same numbers as the account's) and not the
// account's, so neither can lock the other out.
func TestKnownDeviceBudgetIsItsOwn(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	secret, _ := enrol(t, f, ada)
	f.clock.advance(time.Minute)
	known := signInFully(t, f, "ada@example.org", secret, "10.0.0.1", "").Device
	f.clock.advance(auth.DefaultLimits.CodePerUser.Every) // (a code works once)
	other := signInFully(t, f, "ada@example.org", secret, "10.0.0.9", "")
	f.clock.advance(time.Minute)

	if n := guessCodes(t, f, 20, "10.1.0.%d", known); n != auth.DefaultLimits.CodePerUser.Burst {
		t.Fatalf("a known device had %d wrong codes checked before a refusal, want %d", n, auth.DefaultLimits.CodePerUser.Burst)
	}
	code, _ := auth.TOTPCode(secret, f.clock.now())
	res, _ := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1", known)
	if _, err := f.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.1", known); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("the device that spent its own budget = %v, want rate_limited", err)
	}
	// Another known device of the account, and an unknown one, are not
	// held back by it.
	res, _ = f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.9", other.Device)
	if _, err := f.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.9", other.Device); err != nil {
		t.Fatalf("another known device = %v", err)
	}
	f.clock.advance(auth.DefaultLimits.CodePerUser.Every)
	code, _ = auth.TOTPCode(secret, f.clock.now())
	res, _ = f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.5")
	if _, err := f.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.5"); err != nil {
		t.Fatalf("an unknown device after a known one's failures = %v", err)
	}
	if n := guessCodes(t, f, 20, "10.2.0.%d", ""); n != auth.DefaultLimits.CodePerUser.Burst {
		t.Fatalf("the account's budget after a known device's failures: %d checked, want %d", n, auth.DefaultLimits.CodePerUser.Burst)
	}
}

// TestKnownDeviceTokens: a token is known only for the account it was
// given for, only as given, only for a year, and not after a password
// change; a huge, malformed or repeated cookie costs little and counts as
// unknown; a token is never a session.
func TestKnownDeviceTokens(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	bobU, err := f.svc.CreateUser(ctx, ada, "bob@example.org", "Bob", pw, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	if err != nil || res.Device == "" {
		t.Fatalf("sign-in = %+v, %v", res, err)
	}
	tok := res.Device
	u := mustUser(t, f, ada.ID)
	bob := mustUser(t, f, bobU.ID)
	if !auth.KnownDevice(f.svc, u, tok) {
		t.Fatal("the token is not known for its own account")
	}
	if auth.KnownDevice(f.svc, bob, tok) {
		t.Fatal("ada's token is known for bob")
	}
	junk := strings.Repeat("A", len(tok))
	for _, tc := range []struct {
		what    string
		cookies []string
		known   bool
	}{
		{"forged", []string{forge(tok)}, false},
		{"cut short", []string{tok[:len(tok)-1]}, false},
		{"with a character added", []string{tok + "A"}, false},
		{"empty", []string{""}, false},
		{"huge", []string{tok + "." + strings.Repeat("x", 1<<20)}, false},
		{"behind junk", []string{junk + "." + tok}, true},
		{"in a second cookie", []string{junk, tok}, true},
		{"behind as much junk as is looked at", []string{strings.Repeat(junk+".", auth.MaxDeviceTokens) + tok}, false},
		{"behind as many junk cookies as are looked at", append(slicesRepeat(junk, auth.MaxDeviceTokens), tok), false},
	} {
		if got := auth.KnownDevice(f.svc, u, tc.cookies...); got != tc.known {
			t.Errorf("a token %s: known = %v, want %v", tc.what, got, tc.known)
		}
	}
	if _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("a known-device token used as a session = %v", err)
	}

	f.clock.advance(auth.DeviceLifetime - time.Second)
	if !auth.KnownDevice(f.svc, u, tok) {
		t.Fatal("the token ended before its year")
	}
	fresh, err := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1", tok)
	if err != nil || fresh.Device == "" || fresh.Device == tok {
		t.Fatalf("a sign-in did not renew the token: %+v, %v", fresh, err)
	}
	f.clock.advance(time.Second)
	if auth.KnownDevice(f.svc, u, tok) {
		t.Fatal("the token is still known after a year")
	}
	if !auth.KnownDevice(f.svc, u, fresh.Device) {
		t.Fatal("the renewed token is not known")
	}
	if strings.Contains(fresh.Device, tok) {
		t.Fatal("the renewed cookie still carries the old token")
	}

	// A password change forgets the account's known devices.
	session, _ := f.svc.Authenticate(ctx, fresh.Token)
	if _, err := f.svc.ChangePassword(ctx, session, pw, "another good password"); err != nil {
		t.Fatal(err)
	}
	if auth.KnownDevice(f.svc, mustUser(t, f, ada.ID), fresh.Device) {
		t.Fatal("a known device survived a password change")
	}
}

// TestDeviceCookieHoldsEachAccount: a browser several accounts sign in
// from keeps a known-device token for each (up to MaxDeviceTokens, the
// latest first), and signing in again replaces the account's own token.
func TestDeviceCookieHoldsEachAccount(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	var users []auth.User
	for i := range auth.MaxDeviceTokens + 1 {
		u, err := f.svc.CreateUser(ctx, ada, fmt.Sprintf("user%d@example.org", i), "Someone", pw, auth.RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	cookie := ""
	for i, u := range users {
		res, err := f.svc.SignIn(ctx, u.Email, pw, "10.0.0.1", cookie)
		if err != nil || res.Device == "" {
			t.Fatalf("sign-in %d = %+v, %v", i, res, err)
		}
		cookie = res.Device
		if n := strings.Count(cookie, ".") + 1; n != min(i+1, auth.MaxDeviceTokens) {
			t.Fatalf("after %d accounts the cookie holds %d tokens", i+1, n)
		}
		for j, v := range users[:i+1] {
			want := i-j < auth.MaxDeviceTokens
			if got := auth.KnownDevice(f.svc, mustUser(t, f, v.ID), cookie); got != want {
				t.Fatalf("after %d sign-ins, account %d known = %v, want %v", i+1, j, got, want)
			}
		}
	}
	// Signing in again to the latest account keeps the others.
	last := users[len(users)-1]
	res, err := f.svc.SignIn(ctx, last.Email, pw, "10.0.0.1", cookie)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(res.Device, ".") + 1; n != auth.MaxDeviceTokens {
		t.Fatalf("signing in again changed the number of tokens to %d", n)
	}
	if !auth.KnownDevice(f.svc, mustUser(t, f, users[1].ID), res.Device) {
		t.Fatal("signing in again dropped another account's token")
	}
}

// TestCodeBudgetHoldsUnderConcurrency: wrong codes sent all at once are
// held to the account's budget as surely as one by one.
func TestCodeBudgetHoldsUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	enrol(t, f, ada)
	f.clock.advance(time.Minute)
	const n = 30
	challenges := make([]string, n)
	for i := range challenges {
		res, err := f.svc.SignIn(ctx, "ada@example.org", pw, fmt.Sprintf("10.3.0.%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		challenges[i] = res.Challenge
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	checked := 0
	start := make(chan struct{})
	for i, ch := range challenges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// (wrong recovery codes: no TOTP code can be right by chance)
			_, err := f.svc.SignInCode(ctx, ch, fmt.Sprintf("zzzzz-%05d", i), fmt.Sprintf("10.3.0.%d", i+1))
			if errors.Is(err, auth.ErrBadCode) {
				mu.Lock()
				checked++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if checked > auth.DefaultLimits.CodePerUser.Burst {
		t.Fatalf("%d codes sent at once were checked, more than the account's budget of %d", checked, auth.DefaultLimits.CodePerUser.Burst)
	}
}

// TestKnownDeviceNeedsTheSecondFactor: someone who had the password
// while the account had no second factor signed in from many browsers
// and kept their known-device tokens; once two-factor is on, none of
// them is known, so each wrong code they send counts against the
// account's budget, not a budget of its own.
func TestKnownDeviceNeedsTheSecondFactor(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	var minted []string
	for i := range 4 {
		res, err := f.svc.SignIn(ctx, "ada@example.org", pw, fmt.Sprintf("192.0.2.%d", i+1))
		if err != nil || res.Device == "" {
			t.Fatalf("sign-in without two-factor = %+v, %v", res, err)
		}
		minted = append(minted, res.Device)
	}
	if !auth.KnownDevice(f.svc, mustUser(t, f, ada.ID), minted[0]) {
		t.Fatal("a token is not known before two-factor is on: the test does not test")
	}
	f.clock.advance(time.Minute)
	secret, _ := enrol(t, f, ada)
	f.clock.advance(time.Minute)
	checked := 0
	for i, tok := range minted {
		if auth.KnownDevice(f.svc, mustUser(t, f, ada.ID), tok) {
			t.Errorf("a token from before two-factor was turned on is known after")
		}
		checked += guessCodes(t, f, 10, fmt.Sprintf("203.0.%d.%%d", i), tok)
	}
	if checked != auth.DefaultLimits.CodePerUser.Burst {
		t.Fatalf("%d wrong codes checked with tokens from before two-factor, want the account's %d", checked, auth.DefaultLimits.CodePerUser.Burst)
	}
	// A full sign-in with the second factor makes the browser known.
	f.clock.advance(10 * auth.DefaultLimits.CodePerUser.Every)
	known := signInFully(t, f, "ada@example.org", secret, "10.0.0.1", minted[0]).Device
	if !auth.KnownDevice(f.svc, mustUser(t, f, ada.ID), known) {
		t.Fatal("a full sign-in with two-factor did not make the browser known")
	}
}

// forge changes one character in the middle of a token (its device ID),
// keeping it well-formed.
func forge(tok string) string {
	b := []byte(tok)
	i := len(b) / 3
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func mustUser(t *testing.T, f *fixture, id string) auth.User {
	t.Helper()
	u, err := f.db.UserByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
