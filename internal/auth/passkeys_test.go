package auth_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/passkeytest"
	"github.com/kaigi-meet/kaigi/internal/policy"
)

const origin = "https://meet.example.org"

func relyingParty(t *testing.T) auth.RelyingParty {
	t.Helper()
	rp, err := auth.RelyingPartyFor(origin)
	if err != nil || rp.ID != "meet.example.org" || rp.Origin != origin {
		t.Fatalf("RelyingPartyFor = %+v, %v", rp, err)
	}
	return rp
}

// registerPasskey registers a passkey for u, signed in with session,
// through the software authenticator, and returns it with what the
// service answered.
func registerPasskey(t *testing.T, f *fixture, u auth.User, session string, a *passkeytest.Authenticator, name string) (*passkeytest.Credential, auth.PasskeyAdded) {
	t.Helper()
	reg, err := f.svc.BeginPasskeyRegistration(ctx, u, session, pw, "", relyingParty(t))
	if err != nil {
		t.Fatalf("begin registration: %v", err)
	}
	opts, _ := json.Marshal(reg.Options)
	resp, cred, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	added, err := f.svc.FinishPasskeyRegistration(ctx, u, session, reg.Token, name, resp)
	if err != nil {
		t.Fatalf("finish registration: %v", err)
	}
	return cred, added
}

// signInWithPasskey signs in with c alone.
func signInWithPasskey(f *fixture, a *passkeytest.Authenticator, c *passkeytest.Credential, ip string) (auth.SignInResult, error) {
	begun, err := f.svc.BeginPasskeySignIn(ctx, ip, auth.RelyingParty{ID: "meet.example.org", Origin: origin})
	if err != nil {
		return auth.SignInResult{}, err
	}
	opts, _ := json.Marshal(begun.Options)
	resp, err := a.Get(opts, c)
	if err != nil {
		return auth.SignInResult{}, err
	}
	return f.svc.FinishPasskeySignIn(ctx, begun.Token, resp, ip)
}

func signedUp(t *testing.T, f *fixture, email string) (auth.User, string) {
	t.Helper()
	u, token, err := f.svc.SignUp(ctx, email, "Someone", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return u, token
}

func auditActions(t *testing.T, f *fixture) map[audit.Action]int {
	t.Helper()
	entries, err := f.db.AuditEntries(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[audit.Action]int{}
	for _, e := range entries {
		out[e.Action]++
	}
	return out
}

// TestPasskeyRegisterAndSignInAlone: registration needs the password
// again; the first passkey comes with recovery codes; a passkey alone
// signs in (both factors), is marked used and audited.
func TestPasskeyRegisterAndSignInAlone(t *testing.T) {
	f := newFixture(t)
	u, session := signedUp(t, f, "ada@example.org")
	a := &passkeytest.Authenticator{Origin: origin}

	if _, err := f.svc.BeginPasskeyRegistration(ctx, u, session, "wrong password", "", relyingParty(t)); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("registration with a wrong password = %v", err)
	}
	if _, err := f.svc.BeginPasskeyRegistration(ctx, u, "", pw, "", relyingParty(t)); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("registration without a session = %v", err)
	}
	cred, added := registerPasskey(t, f, u, session, a, "  Laptop ")
	if added.Passkey.Name != "Laptop" || len(added.RecoveryCodes) != auth.RecoveryCodeCount {
		t.Fatalf("first passkey = %q with %d recovery codes", added.Passkey.Name, len(added.RecoveryCodes))
	}
	_, second := registerPasskey(t, f, u, session, a, "Phone")
	if second.RecoveryCodes != nil {
		t.Fatalf("a second passkey came with recovery codes again")
	}
	keys, err := f.svc.Passkeys(ctx, u)
	if err != nil || len(keys) != 2 || !keys[0].LastUsedAt.IsZero() {
		t.Fatalf("passkeys = %+v, %v", keys, err)
	}

	f.clock.advance(time.Minute)
	res, err := signInWithPasskey(f, a, cred, "10.0.0.9")
	if err != nil || res.Token == "" || res.User.ID != u.ID || res.Challenge != "" {
		t.Fatalf("sign-in with the passkey alone = %+v, %v", res, err)
	}
	if got, err := f.svc.Authenticate(ctx, res.Token); err != nil || got.ID != u.ID {
		t.Fatalf("the passkey's session = %+v, %v", got, err)
	}
	keys, _ = f.svc.Passkeys(ctx, u)
	// Both were registered at the same (test) time: in any order.
	if keys[0].Name != "Laptop" {
		keys[0], keys[1] = keys[1], keys[0]
	}
	if !keys[0].LastUsedAt.Equal(f.clock.now()) || !keys[1].LastUsedAt.IsZero() {
		t.Fatalf("last used = %v, %v", keys[0].LastUsedAt, keys[1].LastUsedAt)
	}
	if err := f.svc.RenamePasskey(ctx, u, keys[1].ID, "Old phone"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RenamePasskey(ctx, u, keys[1].ID, "bad\nname"); !errors.Is(err, auth.ErrBadPasskeyName) {
		t.Fatalf("rename with a control character = %v", err)
	}
	if err := f.svc.DeletePasskey(ctx, u, keys[1].ID, "wrong password", ""); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("delete with a wrong password = %v", err)
	}
	if err := f.svc.DeletePasskey(ctx, u, keys[1].ID, pw, ""); err != nil {
		t.Fatal(err)
	}
	if keys, _ = f.svc.Passkeys(ctx, u); len(keys) != 1 || keys[0].Name != "Laptop" {
		t.Fatalf("after deleting one: %+v", keys)
	}
	got := auditActions(t, f)
	if got[audit.UserPasskeyAdded] != 2 || got[audit.UserPasskeyDeleted] != 1 || got[audit.UserPasskeySignIn] != 1 {
		t.Fatalf("audit actions = %v", got)
	}
}

// TestPasskeyAsSecondFactor: an account with a passkey needs a second
// step after its password, which the passkey (or a recovery code)
// completes; another account's passkey does not.
func TestPasskeyAsSecondFactor(t *testing.T) {
	f := newFixture(t)
	ada, session := signedUp(t, f, "ada@example.org")
	org, _ := f.svc.Org(ctx)
	org.AllowSignUp = true
	if err := f.svc.UpdateOrg(ctx, ada, org); err != nil {
		t.Fatal(err)
	}
	bob, bobSession := signedUp(t, f, "bob@example.org")
	a := &passkeytest.Authenticator{Origin: origin}
	adaKey, added := registerPasskey(t, f, ada, session, a, "Laptop")
	bobKey, _ := registerPasskey(t, f, bob, bobSession, a, "Bob's")

	res, err := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.2")
	if err != nil || res.Token != "" || res.Challenge == "" || !res.Passkey {
		t.Fatalf("password step = %+v, %v", res, err)
	}
	rp := relyingParty(t)
	begun, err := f.svc.BeginPasskeySecondFactor(ctx, res.Challenge, "10.0.0.2", rp)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(begun.Options)
	if _, err := a.Get(opts, bobKey); err == nil {
		t.Fatal("the options allow another account's passkey")
	}
	// Bob's passkey, whatever the options said, is refused.
	ch, _ := passkeytest.Challenge(opts)
	wrong, _ := a.Sign(ch, bobKey)
	if _, err := f.svc.FinishPasskeySecondFactor(ctx, res.Challenge, begun.Token, wrong, "10.0.0.2"); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Fatalf("another account's passkey as the second factor = %v", err)
	}
	// The refused answer used its ceremony up: a new one.
	begun, _ = f.svc.BeginPasskeySecondFactor(ctx, res.Challenge, "10.0.0.2", rp)
	opts, _ = json.Marshal(begun.Options)
	resp, err := a.Get(opts, adaKey)
	if err != nil {
		t.Fatal(err)
	}
	// Bound to its sign-in: another sign-in's challenge does not take it.
	other, _ := f.svc.SignIn(ctx, "bob@example.org", pw, "10.0.0.3")
	if _, err := f.svc.FinishPasskeySecondFactor(ctx, other.Challenge, begun.Token, resp, "10.0.0.3"); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Fatalf("a second factor under another sign-in's challenge = %v", err)
	}
	begun, _ = f.svc.BeginPasskeySecondFactor(ctx, res.Challenge, "10.0.0.2", rp)
	opts, _ = json.Marshal(begun.Options)
	resp, _ = a.Get(opts, adaKey)
	done, err := f.svc.FinishPasskeySecondFactor(ctx, res.Challenge, begun.Token, resp, "10.0.0.2")
	if err != nil || done.Token == "" || done.User.ID != ada.ID {
		t.Fatalf("second factor by passkey = %+v, %v", done, err)
	}
	// The sign-in challenge is spent.
	if _, err := f.svc.SignInCode(ctx, res.Challenge, added.RecoveryCodes[0], "10.0.0.2"); !errors.Is(err, auth.ErrChallengeExpired) {
		t.Fatalf("the spent challenge = %v", err)
	}
	// A recovery code is the way in without the passkey; six digits are
	// no code for an account without TOTP.
	res, _ = f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.2")
	if _, err := f.svc.SignInCode(ctx, res.Challenge, "123456", "10.0.0.2"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("a TOTP-like code without TOTP = %v", err)
	}
	if done, err := f.svc.SignInCode(ctx, res.Challenge, added.RecoveryCodes[0], "10.0.0.2"); err != nil || done.Token == "" {
		t.Fatalf("recovery code = %+v, %v", done, err)
	}
}

// TestPasskeyRefusals: answers from another origin, for another RP ID,
// without user verification, to a used or expired challenge, or from a
// cloned authenticator are refused, and a registration is bound to its
// session.
func TestPasskeyRefusals(t *testing.T) {
	f := newFixture(t)
	u, session := signedUp(t, f, "ada@example.org")
	good := &passkeytest.Authenticator{Origin: origin}
	cred, _ := registerPasskey(t, f, u, session, good, "Laptop")
	rp := relyingParty(t)

	answer := func(a *passkeytest.Authenticator) (string, []byte) {
		t.Helper()
		begun, err := f.svc.BeginPasskeySignIn(ctx, "10.0.0.5", rp)
		if err != nil {
			t.Fatal(err)
		}
		opts, _ := json.Marshal(begun.Options)
		resp, err := a.Get(opts, cred)
		if err != nil {
			t.Fatal(err)
		}
		return begun.Token, resp
	}
	for name, a := range map[string]*passkeytest.Authenticator{
		"another origin":       {Origin: "https://meet.example.org.evil.example"},
		"http, not https":      {Origin: "http://meet.example.org"},
		"another RP ID":        {Origin: origin, RPID: "evil.example"},
		"no user verification": {Origin: origin, NoUserVerification: true},
	} {
		token, resp := answer(a)
		if res, err := f.svc.FinishPasskeySignIn(ctx, token, resp, "10.0.0.5"); !errors.Is(err, auth.ErrPasskeyRefused) || res.Token != "" {
			t.Errorf("%s: %+v, %v", name, res, err)
		}
	}

	// Replayed: the answer that signed in once does not again, neither
	// to its own ceremony nor to a new one.
	token, resp := answer(good)
	if _, err := f.svc.FinishPasskeySignIn(ctx, token, resp, "10.0.0.5"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishPasskeySignIn(ctx, token, resp, "10.0.0.5"); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("the same answer again = %v", err)
	}
	fresh, _ := f.svc.BeginPasskeySignIn(ctx, "10.0.0.5", rp)
	if _, err := f.svc.FinishPasskeySignIn(ctx, fresh.Token, resp, "10.0.0.5"); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("an old answer to a new challenge = %v", err)
	}

	// Expired: five minutes and a second after it began.
	token, resp = answer(good)
	f.clock.advance(5*time.Minute + time.Second)
	if _, err := f.svc.FinishPasskeySignIn(ctx, token, resp, "10.0.0.5"); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("an expired ceremony = %v", err)
	}

	// A sign count that goes back: two copies of the key.
	token, resp = answer(good)
	if _, err := f.svc.FinishPasskeySignIn(ctx, token, resp, "10.0.0.5"); err != nil {
		t.Fatal(err)
	}
	cred.Count -= 2
	token, resp = answer(good)
	if _, err := f.svc.FinishPasskeySignIn(ctx, token, resp, "10.0.0.5"); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("a sign count that went back = %v", err)
	}

	// A credential that names another account than its own (a forged
	// user handle) signs neither in.
	org, _ := f.svc.Org(ctx)
	org.AllowSignUp = true
	if err := f.svc.UpdateOrg(ctx, u, org); err != nil {
		t.Fatal(err)
	}
	bob, bobSession := signedUp(t, f, "bob@example.org")
	bobKey, _ := registerPasskey(t, f, bob, bobSession, good, "Bob's")
	bobKey.UserHandle = []byte(u.ID)
	begun, _ := f.svc.BeginPasskeySignIn(ctx, "10.0.0.5", rp)
	opts, _ := json.Marshal(begun.Options)
	forged, _ := good.Get(opts, bobKey)
	if res, err := f.svc.FinishPasskeySignIn(ctx, begun.Token, forged, "10.0.0.5"); !errors.Is(err, auth.ErrPasskeyRefused) || res.Token != "" {
		t.Errorf("bob's passkey naming ada = %+v, %v", res, err)
	}

	// A registration begun in one session is not finished from another.
	other, err := f.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.6")
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	reg, err := f.svc.BeginPasskeyRegistration(ctx, u, session, pw, "", rp)
	if err != nil {
		t.Fatal(err)
	}
	opts, _ = json.Marshal(reg.Options)
	created, _, _ := good.Create(opts)
	if _, err := f.svc.FinishPasskeyRegistration(ctx, u, "another session", reg.Token, "Stolen", created); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("registration finished from another session = %v", err)
	}
	// Registering from another origin is refused too.
	reg, _ = f.svc.BeginPasskeyRegistration(ctx, u, session, pw, "", rp)
	opts, _ = json.Marshal(reg.Options)
	created, _, _ = (&passkeytest.Authenticator{Origin: "https://evil.example"}).Create(opts)
	if _, err := f.svc.FinishPasskeyRegistration(ctx, u, session, reg.Token, "Phished", created); !errors.Is(err, auth.ErrPasskeyRefused) {
		t.Errorf("registration from another origin = %v", err)
	}
	if keys, _ := f.svc.Passkeys(ctx, u); len(keys) != 1 {
		t.Errorf("%d passkeys after the refusals, want 1", len(keys))
	}
}

// TestRequirePasskeys: an administrator cannot require passkeys before
// having one; then an account without one needs one, cannot delete its
// last, and an administrator's reset of its two-factor removes them (the
// way back for an owner who lost theirs).
func TestRequirePasskeys(t *testing.T) {
	f := newFixture(t)
	admin, session := signedUp(t, f, "ada@example.org")
	org, _ := f.svc.Org(ctx)
	org.AllowSignUp = true
	if err := f.svc.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatal(err)
	}
	org.RequirePasskeys = true
	if err := f.svc.UpdateOrg(ctx, admin, org); !errors.Is(err, auth.ErrPasskeyFirst) {
		t.Fatalf("requiring passkeys without one = %v", err)
	}
	a := &passkeytest.Authenticator{Origin: origin}
	registerPasskey(t, f, admin, session, a, "Admin's")
	if err := f.svc.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatalf("requiring passkeys with one: %v", err)
	}
	org, _ = f.svc.Org(ctx)
	if !org.RequirePasskeys {
		t.Fatal("the requirement was not saved")
	}
	bob, bobSession := signedUp(t, f, "bob@example.org")
	if need, err := f.svc.NeedsPasskey(ctx, org, bob); err != nil || !need {
		t.Fatalf("bob without a passkey needs one = %v, %v", need, err)
	}
	if need, _ := f.svc.NeedsPasskey(ctx, org, admin); need {
		t.Fatal("the administrator with a passkey needs one")
	}
	registerPasskey(t, f, bob, bobSession, a, "Bob's")
	if need, _ := f.svc.NeedsPasskey(ctx, org, bob); need {
		t.Fatal("bob needs a passkey after registering one")
	}
	keys, _ := f.svc.Passkeys(ctx, bob)
	if err := f.svc.DeletePasskey(ctx, bob, keys[0].ID, pw, ""); !errors.Is(err, auth.ErrPasskeyRequired) {
		t.Fatalf("deleting the last passkey while required = %v", err)
	}
	if _, err := f.svc.ResetTwoFactor(ctx, auth.ByAdmin(admin), bob.ID, "lost the phone"); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.svc.CountPasskeys(ctx, bob); n != 0 {
		t.Fatalf("%d passkeys after the reset", n)
	}
	// Then the password alone signs in, into registering one.
	res, err := f.svc.SignIn(ctx, "bob@example.org", pw, "10.0.0.7")
	if err != nil || res.Token == "" {
		t.Fatalf("sign-in after the reset = %+v, %v", res, err)
	}
	if need, _ := f.svc.NeedsPasskey(ctx, org, bob); !need {
		t.Fatal("bob does not need a passkey after the reset")
	}
}

// TestPasskeySignInIsRateLimited: passkey sign-ins count against the
// address as password sign-ins do (begin and finish are each an
// attempt), and the address's budget refuses them before anything is
// checked; another address is not refused.
func TestPasskeySignInIsRateLimited(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) {
		o.Limits = auth.DefaultLimits
		o.Limits.SignInPerIP = policy.Rate{Every: time.Hour, Burst: 3}
	})
	u, session := signedUp(t, f, "ada@example.org")
	a := &passkeytest.Authenticator{Origin: origin}
	cred, _ := registerPasskey(t, f, u, session, a, "Laptop")
	if _, err := signInWithPasskey(f, a, cred, "10.0.0.8"); err != nil { // attempts 1 and 2
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(ctx, "ada@example.org", "wrong password!", "10.0.0.8"); !errors.Is(err, auth.ErrBadCredentials) { // 3
		t.Fatalf("third attempt = %v", err)
	}
	if _, err := f.svc.BeginPasskeySignIn(ctx, "10.0.0.8", relyingParty(t)); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("a passkey sign-in over the address's budget = %v", err)
	}
	if _, err := signInWithPasskey(f, a, cred, "10.0.0.9"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

// TestPasskeySatisfiesRequire2FA: where the organisation requires
// two-factor, a passkey meets it (it is a second step after the password
// too), and the last passkey of an account without an app stays.
func TestPasskeySatisfiesRequire2FA(t *testing.T) {
	f := newFixture(t)
	admin, _ := signedUp(t, f, "ada@example.org")
	org, _ := f.svc.Org(ctx)
	org.AllowSignUp, org.Require2FA = true, true
	if err := f.svc.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatal(err)
	}
	bob, session := signedUp(t, f, "bob@example.org")
	if twoFactor, passkey, err := f.svc.Requirements(ctx, org, bob); err != nil || !twoFactor || passkey {
		t.Fatalf("bob without a second factor: two-factor %v, passkey %v, %v", twoFactor, passkey, err)
	}
	registerPasskey(t, f, bob, session, &passkeytest.Authenticator{Origin: origin}, "Bob's")
	if twoFactor, passkey, err := f.svc.Requirements(ctx, org, bob); err != nil || twoFactor || passkey {
		t.Fatalf("bob with a passkey: two-factor %v, passkey %v, %v", twoFactor, passkey, err)
	}
	keys, _ := f.svc.Passkeys(ctx, bob)
	if err := f.svc.DeletePasskey(ctx, bob, keys[0].ID, pw, ""); !errors.Is(err, auth.ErrPasskeyRequired) {
		t.Fatalf("deleting the only second factor while two-factor is required = %v", err)
	}
}
