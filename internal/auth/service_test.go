package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	svc   *auth.Service
	db    *store.SQLite
	clock *clock
	logs  *bytes.Buffer
}

func newFixture(t *testing.T, opts ...func(*auth.Options)) *fixture {
	t.Helper()
	sealer, err := auth.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenSQLite(context.Background(), t.TempDir(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	logs := &bytes.Buffer{}
	o := auth.Options{
		Store: db, Sealer: sealer, Now: c.now,
		Hash:   auth.HashParams{Memory: 64, Time: 1, Threads: 1},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range opts {
		f(&o)
	}
	svc := auth.NewService(o)
	return &fixture{svc: svc, db: db, clock: c, logs: logs}
}

var ctx = context.Background()

const pw = "correct horse battery"

func TestFirstAccountIsAdminThenSignUpClosed(t *testing.T) {
	f := newFixture(t)
	admin, token, err := f.svc.SignUp(ctx, " Ada@Example.ORG ", "Ada", pw, "10.0.0.1")
	if err != nil || token == "" {
		t.Fatalf("first sign-up = %v", err)
	}
	if admin.Role != auth.RoleAdmin || admin.Email != "ada@example.org" {
		t.Fatalf("first account = %+v", admin)
	}
	if _, _, err := f.svc.SignUp(ctx, "bob@example.org", "Bob", pw, "10.0.0.2"); !errors.Is(err, auth.ErrSignUpClosed) {
		t.Fatalf("second sign-up with sign-up closed = %v", err)
	}
	org, _ := f.svc.Org(ctx)
	org.AllowSignUp = true
	if err := f.svc.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatal(err)
	}
	bob, _, err := f.svc.SignUp(ctx, "bob@example.org", "Bob", pw, "10.0.0.2")
	if err != nil || bob.Role != auth.RoleMember {
		t.Fatalf("second sign-up = %+v, %v", bob, err)
	}
	if _, _, err := f.svc.SignUp(ctx, "BOB@example.org", "Bob", pw, "10.0.0.3"); !errors.Is(err, auth.ErrEmailTaken) {
		t.Fatalf("taken e-mail = %v", err)
	}
	if err := f.svc.UpdateOrg(ctx, bob, org); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("a member changed the organisation: %v", err)
	}
	if _, err := f.svc.CreateUser(ctx, bob, "cy@example.org", "Cy", pw, auth.RoleMember); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("a member created an account: %v", err)
	}
	if _, err := f.svc.CreateUser(ctx, admin, "cy@example.org", "Cy", pw, auth.RoleMember); err != nil {
		t.Fatalf("admin creating an account: %v", err)
	}
}

func TestSignUpValidation(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		email, name, pw string
		err             error
	}{
		{"not-an-email", "Ada", pw, auth.ErrBadEmail},
		{"ada@localhost", "Ada", pw, auth.ErrBadEmail},
		{"Ada <ada@example.org>", "Ada", pw, auth.ErrBadEmail},
		{"ada@example.org", "", pw, auth.ErrBadName},
		{"ada@example.org", "Ada", "short", auth.ErrWeakPassword},
	} {
		if _, _, err := f.svc.SignUp(ctx, tt.email, tt.name, tt.pw, "10.0.0.9"); !errors.Is(err, tt.err) {
			t.Errorf("SignUp(%q, %q) = %v, want %v", tt.email, tt.name, err, tt.err)
		}
	}
}

func TestSignInAndSessions(t *testing.T) {
	f := newFixture(t)
	u, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")

	if _, err := f.svc.SignIn(ctx, "ada@example.org", "wrong password!", "10.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("wrong password = %v", err)
	}
	if _, err := f.svc.SignIn(ctx, "nobody@example.org", pw, "10.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("unknown e-mail = %v (must be the same error as a wrong password)", err)
	}
	res, err := f.svc.SignIn(ctx, "ADA@example.org", pw, "10.0.0.1")
	if err != nil || res.Token == "" || res.Challenge != "" {
		t.Fatalf("sign-in = %+v, %v", res, err)
	}
	got, err := f.svc.Authenticate(ctx, res.Token)
	if err != nil || got.ID != u.ID {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	if _, err := f.svc.Authenticate(ctx, res.Token+"x"); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("forged token = %v", err)
	}
	if err := f.svc.SignOut(ctx, res.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, res.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("after sign-out = %v", err)
	}

	// Idle sessions end.
	res, _ = f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	f.clock.advance(15 * 24 * time.Hour)
	if _, err := f.svc.Authenticate(ctx, res.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("idle session = %v", err)
	}
	// Sign out everywhere.
	a, _ := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	b, _ := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.2")
	if err := f.svc.SignOutEverywhere(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a.Token, b.Token} {
		if _, err := f.svc.Authenticate(ctx, tok); !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("a session survived sign-out everywhere: %v", err)
		}
	}
}

func TestSignInRateLimits(t *testing.T) {
	f := newFixture(t)
	f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	// Per account: five wrong passwords from anywhere are free; the right
	// one still signs in at once, from any other address.
	for i := range 5 {
		if _, err := f.svc.SignIn(ctx, "ada@example.org", "wrong password!", fmt.Sprintf("10.0.1.%d", i+1)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("attempt %d = %v", i, err)
		}
	}
	if _, err := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.2.1"); err != nil {
		t.Fatalf("the right password after five failures elsewhere = %v", err)
	}
	// Beyond the budget a wrong password answers the same, and holds back
	// the address that sent it: 1 s, then 2 s, 4 s ...
	for i, hold := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		ip := fmt.Sprintf("10.0.3.%d", i+1)
		if _, err := f.svc.SignIn(ctx, "ada@example.org", "wrong password!", ip); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("failure %d beyond the budget = %v", i+1, err)
		}
		f.clock.advance(hold - time.Millisecond)
		if _, err := f.svc.SignIn(ctx, "ada@example.org", pw, ip); !errors.Is(err, auth.ErrRateLimited) {
			t.Fatalf("%v into a %v hold = %v, want rate limited", hold-time.Millisecond, hold, err)
		}
		if _, err := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.2.1"); err != nil {
			t.Fatalf("the right password from elsewhere during a hold = %v", err)
		}
		f.clock.advance(time.Millisecond)
		if _, err := f.svc.SignIn(ctx, "ada@example.org", pw, ip); err != nil {
			t.Fatalf("after the %v hold = %v", hold, err)
		}
	}
	// Per address: a spray across many accounts from one address stops.
	var limited bool
	for i := range 40 {
		_, err := f.svc.SignIn(ctx, "user"+string(rune('a'+i%26))+"@example.org", "whatever password", "10.9.9.9")
		if errors.Is(err, auth.ErrRateLimited) {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("40 attempts from one address were never limited")
	}
}

func enrol(t *testing.T, f *fixture, u auth.User) (secret string, codes []string) {
	t.Helper()
	e, err := f.svc.BeginTOTP(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.QR, "data:image/png;base64,") || !strings.HasPrefix(e.URL, "otpauth://totp/Kaigi:") || e.Secret == "" {
		t.Fatalf("enrolment = %+v", e)
	}
	if _, err := f.svc.ConfirmTOTP(ctx, u, "000000"); !errors.Is(err, auth.ErrBadCode) {
		// (one in a million it is right; the clock is fixed, so it is not)
		t.Fatalf("confirm with a wrong code = %v", err)
	}
	code, _ := auth.TOTPCode(e.Secret, f.clock.now())
	codes, err = f.svc.ConfirmTOTP(ctx, u, code)
	if err != nil || len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("confirm = %v, %v", codes, err)
	}
	return e.Secret, codes
}

func TestTwoFactorSignIn(t *testing.T) {
	f := newFixture(t)
	u, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	secret, codes := enrol(t, f, u)
	if _, err := f.svc.BeginTOTP(ctx, u); !errors.Is(err, auth.ErrTOTPEnabled) {
		t.Fatalf("second enrolment = %v", err)
	}

	f.clock.advance(time.Minute)
	res, err := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	if err != nil || res.Token != "" || res.Challenge == "" {
		t.Fatalf("password step = %+v, %v; want a challenge and no session", res, err)
	}
	code, _ := auth.TOTPCode(secret, f.clock.now())
	done, err := f.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.1")
	if err != nil || done.Token == "" {
		t.Fatalf("code step = %+v, %v", done, err)
	}
	// The challenge is spent, and the code cannot be replayed.
	if _, err := f.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.1"); !errors.Is(err, auth.ErrChallengeExpired) {
		t.Fatalf("reusing a challenge = %v", err)
	}
	res2, _ := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	if _, err := f.svc.SignInCode(ctx, res2.Challenge, code, "10.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("replayed code = %v", err)
	}
	// A recovery code works once.
	if done, err := f.svc.SignInCode(ctx, res2.Challenge, strings.ToUpper(codes[0]), "10.0.0.1"); err != nil || done.Token == "" {
		t.Fatalf("recovery code = %v", err)
	}
	res3, _ := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	if _, err := f.svc.SignInCode(ctx, res3.Challenge, codes[0], "10.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("used recovery code = %v", err)
	}
	if n, _ := f.svc.RecoveryCodesLeft(ctx, u); n != auth.RecoveryCodeCount-1 {
		t.Fatalf("codes left = %d", n)
	}
	// Challenges expire.
	res4, _ := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	f.clock.advance(6 * time.Minute)
	code, _ = auth.TOTPCode(secret, f.clock.now())
	if _, err := f.svc.SignInCode(ctx, res4.Challenge, code, "10.0.0.1"); !errors.Is(err, auth.ErrChallengeExpired) {
		t.Fatalf("expired challenge = %v", err)
	}
}

func TestTwoFactorAttemptLimit(t *testing.T) {
	f := newFixture(t)
	u, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	secret, _ := enrol(t, f, u)
	f.clock.advance(time.Minute)
	res, _ := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	var err error
	for range 5 {
		_, err = f.svc.SignInCode(ctx, res.Challenge, "000000", "10.0.0.1")
	}
	if !errors.Is(err, auth.ErrChallengeExpired) && !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("fifth wrong code = %v", err)
	}
	code, _ := auth.TOTPCode(secret, f.clock.now())
	if _, err := f.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.1"); err == nil {
		t.Fatal("a challenge with five wrong codes still signed in")
	}
}

func TestDisableTwoFactorNeedsReauthentication(t *testing.T) {
	f := newFixture(t)
	u, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	secret, codes := enrol(t, f, u)
	f.clock.advance(time.Minute)
	code, _ := auth.TOTPCode(secret, f.clock.now())
	if err := f.svc.DisableTOTP(ctx, u, "wrong password!", code); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("disable with a wrong password = %v", err)
	}
	if err := f.svc.DisableTOTP(ctx, u, pw, "123456"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("disable with a wrong code = %v", err)
	}
	// Regenerating codes invalidates the old ones.
	fresh, err := f.svc.RegenerateRecoveryCodes(ctx, u, pw, code)
	if err != nil || len(fresh) != auth.RecoveryCodeCount {
		t.Fatalf("regenerate = %v", err)
	}
	f.clock.advance(time.Minute)
	if err := f.svc.DisableTOTP(ctx, u, pw, codes[1]); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("an old recovery code after regeneration = %v", err)
	}
	if err := f.svc.DisableTOTP(ctx, u, pw, fresh[0]); err != nil {
		t.Fatalf("disable with password and recovery code = %v", err)
	}
	res, err := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	if err != nil || res.Token == "" {
		t.Fatalf("sign-in after disabling = %+v, %v", res, err)
	}
}

func TestOrgRequiresTwoFactor(t *testing.T) {
	f := newFixture(t)
	admin, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	org, _ := f.svc.Org(ctx)
	org.Require2FA = true
	f.svc.UpdateOrg(ctx, admin, org)
	org, _ = f.svc.Org(ctx)
	if !org.NeedsEnrollment(admin) {
		t.Fatal("an account without two-factor is not asked to enrol")
	}
	secret, _ := enrol(t, f, admin)
	admin, _ = f.db.UserByID(ctx, admin.ID)
	if org.NeedsEnrollment(admin) {
		t.Fatal("enrolled account still asked to enrol")
	}
	f.clock.advance(time.Minute)
	code, _ := auth.TOTPCode(secret, f.clock.now())
	if err := f.svc.DisableTOTP(ctx, admin, pw, code); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("disabling required two-factor = %v", err)
	}
}

// TestSecretsAreStoredSafely: nothing secret is stored or logged in the
// clear: not the password, the TOTP secret, session tokens or recovery
// codes.
func TestSecretsAreStoredSafely(t *testing.T) {
	f := newFixture(t)
	u, token, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	secret, codes := enrol(t, f, u)
	stored, _ := f.db.UserByID(ctx, u.ID)
	if strings.Contains(stored.PasswordHash, pw) || bytes.Contains(stored.TOTPSecret, []byte(secret)) {
		t.Fatal("password or TOTP secret stored in the clear")
	}
	logs := f.logs.String()
	for _, s := range append([]string{pw, secret, token, stored.PasswordHash}, codes...) {
		if strings.Contains(logs, s) {
			t.Fatalf("the log contains a secret %q:\n%s", s, logs)
		}
	}
	if !strings.Contains(logs, "two-factor enabled") {
		t.Fatal("the test's log capture is not working")
	}
}
