package auth_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

// ended records what the service asked to end live.
type ended struct {
	mu    sync.Mutex
	calls []string
}

func (e *ended) add(userID, reason, message string) {
	e.mu.Lock()
	e.calls = append(e.calls, userID+" "+reason+" "+message)
	e.mu.Unlock()
}

func (e *ended) last() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.calls) == 0 {
		return ""
	}
	return e.calls[len(e.calls)-1]
}

// TestSuspendAccount: an admin suspends a member with a reason; the
// member's sessions end at once, live participation is ended with the
// reason, a sign-in with the right password is refused naming the reason
// (a wrong password still gets bad_credentials: the reason is not told to
// guessers); reinstated, the member signs in again. Each step is in the
// audit log, with the reason.
func TestSuspendAccount(t *testing.T) {
	var live ended
	f := newFixture(t, func(o *auth.Options) { o.EndParticipation = live.add })
	admin, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	bob, err := f.svc.CreateUser(ctx, admin, "bob@example.org", "Bob", pw, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.SignIn(ctx, "bob@example.org", pw, "10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := f.svc.SuspendUser(ctx, auth.ByAdmin(admin), bob.ID, "  "); !errors.Is(err, auth.ErrReasonRequired) {
		t.Fatalf("suspend without a reason: %v", err)
	}
	if _, err := f.svc.SuspendUser(ctx, auth.ByAdmin(bob), admin.ID, "coup"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("a member suspended the admin: %v", err)
	}
	if _, err := f.svc.SuspendUser(ctx, auth.ByAdmin(admin), bob.ID, strings.Repeat("x", auth.MaxReason+1)); !errors.Is(err, auth.ErrReasonRequired) {
		t.Fatalf("an over-long reason: %v", err)
	}
	if _, err := f.svc.SuspendUser(ctx, auth.ByAdmin(admin), bob.ID, "bell\x07"); !errors.Is(err, auth.ErrReasonRequired) {
		t.Fatalf("a control character: %v", err)
	}
	if _, err := f.svc.SuspendUser(ctx, auth.ByAdmin(admin), "nobody", "why"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an unknown account: %v", err)
	}
	u, err := f.svc.SuspendUser(ctx, auth.ByAdmin(admin), bob.ID, "Unpaid licence")
	if err != nil || !u.Suspended() {
		t.Fatalf("suspend: %+v %v", u, err)
	}
	if _, err := f.svc.Authenticate(ctx, res.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("the suspended account's session still works: %v", err)
	}
	if got := live.last(); got != bob.ID+" account_suspended An administrator suspended your account: Unpaid licence" {
		t.Fatalf("live participation ended with %q", got)
	}
	if _, err := f.svc.SignIn(ctx, "bob@example.org", "wrong password!", "10.0.0.2"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("a wrong password for a suspended account: %v", err)
	}
	_, err = f.svc.SignIn(ctx, "bob@example.org", pw, "10.0.0.2")
	var susp *auth.SuspendedError
	if !errors.As(err, &susp) || susp.Reason != "Unpaid licence" || !errors.Is(err, auth.ErrSuspended) {
		t.Fatalf("sign-in while suspended: %v", err)
	}

	if _, err := f.svc.ReinstateUser(ctx, auth.ByAdmin(admin), bob.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(ctx, "bob@example.org", pw, "10.0.0.2"); err != nil {
		t.Fatalf("sign-in after reinstating: %v", err)
	}
	about, err := f.svc.AuditAboutMe(ctx, bob, 10)
	if err != nil || len(about) != 3 {
		t.Fatalf("entries about Bob: %+v %v", about, err)
	}
	if about[0].Action != audit.UserReinstated || about[1].Action != audit.UserSuspended || about[1].Reason != "Unpaid licence" || about[1].ActorID != admin.ID {
		t.Fatalf("entries about Bob: %+v", about)
	}
	if _, err := audit.VerifyAll(ctx, f.db, nil); err != nil {
		t.Fatal(err)
	}
}

// TestLastAdminKept: nobody can suspend or delete the last admin who can
// sign in, nor an admin act on their own account; the operator can act
// on admins while another remains.
func TestLastAdminKept(t *testing.T) {
	f := newFixture(t)
	admin, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	if _, err := f.svc.SuspendUser(ctx, auth.ByAdmin(admin), admin.ID, "me"); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("an admin suspended themselves: %v", err)
	}
	if _, err := f.svc.SuspendUser(ctx, auth.ByOperator, admin.ID, "policy"); !errors.Is(err, auth.ErrLastAdmin) {
		t.Fatalf("the operator suspended the last admin: %v", err)
	}
	if err := f.svc.DeleteOwnAccount(ctx, admin, pw, ""); !errors.Is(err, auth.ErrLastAdmin) {
		t.Fatalf("the last admin deleted their account: %v", err)
	}
	cy, err := f.svc.CreateFromCommandLine(ctx, "cy@example.org", "Cy", pw, auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SuspendUser(ctx, auth.ByOperator, admin.ID, "rotation"); err != nil {
		t.Fatalf("the operator suspending one of two admins: %v", err)
	}
	if err := f.svc.DeleteUser(ctx, auth.ByOperator, cy.ID, "x"); !errors.Is(err, auth.ErrLastAdmin) {
		t.Fatalf("the operator deleted the last admin who can sign in: %v", err)
	}
}

// TestResetTwoFactorAndDelete: an admin resets a member's two-factor (the
// member signs in with the password alone, recovery codes gone) and then
// deletes the account (its meetings and sessions go; the audit log keeps
// the ID, not the e-mail); a member deletes their own account only with
// the password and a code.
func TestResetTwoFactorAndDelete(t *testing.T) {
	var live ended
	f := newFixture(t, func(o *auth.Options) { o.EndParticipation = live.add })
	admin, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	bob, _ := f.svc.CreateUser(ctx, admin, "bob@example.org", "Bob", pw, auth.RoleMember)
	if _, err := f.svc.ResetTwoFactor(ctx, auth.ByAdmin(admin), bob.ID, "lost phone"); !errors.Is(err, auth.ErrTOTPDisabled) {
		t.Fatalf("reset without two-factor: %v", err)
	}
	enrol(t, f, bob)
	if res, _ := f.svc.SignIn(ctx, "bob@example.org", pw, "10.0.0.2"); res.Challenge == "" {
		t.Fatal("two-factor is not on")
	}
	if _, err := f.svc.ResetTwoFactor(ctx, auth.ByAdmin(admin), bob.ID, "lost phone"); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.SignIn(ctx, "bob@example.org", pw, "10.0.0.2")
	if err != nil || res.Token == "" {
		t.Fatalf("sign-in after the reset: %+v %v", res, err)
	}
	if n, _ := f.db.RecoveryCodesLeft(ctx, bob.ID); n != 0 {
		t.Fatalf("%d recovery codes left after the reset", n)
	}

	if err := f.svc.DeleteUser(ctx, auth.ByAdmin(admin), bob.ID, ""); !errors.Is(err, auth.ErrReasonRequired) {
		t.Fatalf("delete without a reason: %v", err)
	}
	if err := f.svc.DeleteUser(ctx, auth.ByAdmin(admin), bob.ID, "left the company"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, res.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("a deleted account's session: %v", err)
	}
	if !strings.HasPrefix(live.last(), bob.ID+" account_deleted ") {
		t.Fatalf("live participation ended with %q", live.last())
	}
	entries, _ := f.db.AuditEntries(ctx, 0, 100)
	last := entries[len(entries)-1]
	if last.Action != audit.UserDeleted || last.SubjectID != bob.ID || last.Reason != "left the company" || last.ActorID != admin.ID {
		t.Fatalf("deletion entry %+v", last)
	}
	for _, e := range entries {
		if strings.Contains(string(e.Canonical()), "bob@example.org") {
			t.Fatalf("the audit log holds the e-mail: %+v", e)
		}
	}

	cy, _ := f.svc.CreateUser(ctx, admin, "cy@example.org", "Cy", pw, auth.RoleMember)
	if err := f.svc.DeleteOwnAccount(ctx, cy, "not the password", ""); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("self-deletion with a wrong password: %v", err)
	}
	if err := f.svc.DeleteOwnAccount(ctx, cy, pw, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UserByEmail(ctx, "cy@example.org"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("Cy still exists: %v", err)
	}
	entries, _ = f.db.AuditEntries(ctx, 0, 100)
	if last := entries[len(entries)-1]; last.Action != audit.UserDeleted || last.ActorID != cy.ID || last.SubjectID != cy.ID {
		t.Fatalf("self-deletion entry %+v", last)
	}
}

// TestLastAdminKeptUnderRace: two admins suspending (or deleting) each
// other at the same moment, and an admin deleting the other while deleting
// their own account, never leave the organisation without an active
// admin: the check and the change are one transaction, and the acting
// admin must still be an active admin in it.
func TestLastAdminKeptUnderRace(t *testing.T) {
	type move func(f *fixture, ada, bea auth.User) error
	cases := map[string][2]move{
		"mutual suspension": {
			func(f *fixture, ada, bea auth.User) error {
				_, err := f.svc.SuspendUser(ctx, auth.ByAdmin(ada), bea.ID, "coup")
				return err
			},
			func(f *fixture, ada, bea auth.User) error {
				_, err := f.svc.SuspendUser(ctx, auth.ByAdmin(bea), ada.ID, "counter-coup")
				return err
			},
		},
		"mutual deletion": {
			func(f *fixture, ada, bea auth.User) error {
				return f.svc.DeleteUser(ctx, auth.ByAdmin(ada), bea.ID, "coup")
			},
			func(f *fixture, ada, bea auth.User) error {
				return f.svc.DeleteUser(ctx, auth.ByAdmin(bea), ada.ID, "counter-coup")
			},
		},
		"deleting the other and oneself": {
			func(f *fixture, ada, bea auth.User) error {
				return f.svc.DeleteUser(ctx, auth.ByAdmin(ada), bea.ID, "coup")
			},
			func(f *fixture, ada, bea auth.User) error { return f.svc.DeleteOwnAccount(ctx, ada, pw, "") },
		},
		"suspending the other while suspended": {
			func(f *fixture, ada, bea auth.User) error {
				_, err := f.svc.SuspendUser(ctx, auth.ByAdmin(ada), bea.ID, "coup")
				return err
			},
			func(f *fixture, ada, bea auth.User) error {
				return f.svc.DeleteUser(ctx, auth.ByAdmin(bea), ada.ID, "counter-coup")
			},
		},
	}
	for name, moves := range cases {
		t.Run(name, func(t *testing.T) {
			both := 0
			for i := 0; i < 30; i++ {
				f := newFixture(t)
				ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
				bea, err := f.svc.CreateUser(ctx, ada, "bea@example.org", "Bea", pw, auth.RoleAdmin)
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				var errs [2]error
				start := make(chan struct{})
				for j := range moves {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						errs[j] = moves[j](f, ada, bea)
					}()
				}
				close(start)
				wg.Wait()
				if errs[0] == nil && errs[1] == nil {
					both++
				}
				for _, err := range errs {
					if err != nil && !errors.Is(err, auth.ErrLastAdmin) && !errors.Is(err, auth.ErrForbidden) && !errors.Is(err, auth.ErrNotFound) {
						t.Fatalf("attempt %d: unexpected error %v", i+1, err)
					}
				}
				users, err := f.db.ListUsers(ctx)
				if err != nil {
					t.Fatal(err)
				}
				active := 0
				for _, u := range users {
					if u.Role == auth.RoleAdmin && !u.Suspended() {
						active++
					}
				}
				if active == 0 {
					t.Fatalf("attempt %d: no active admin left (errors %v, %v)", i+1, errs[0], errs[1])
				}
			}
			if both > 0 {
				t.Errorf("both moves succeeded in %d of 30 attempts", both)
			}
		})
	}
}

// TestSuspensionRaceLeavesNoSession: a sign-in whose password step came
// before a suspension cannot finish its second step after it; and a
// session made in a race with the suspension (after the suspension ended
// the account's sessions) does not come back to life when the account is
// reinstated.
func TestSuspensionRaceLeavesNoSession(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	bob, err := f.svc.CreateUser(ctx, ada, "bob@example.org", "Bob", pw, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := enrol(t, f, bob)
	f.clock.advance(time.Minute)
	res, err := f.svc.SignIn(ctx, "bob@example.org", pw, "10.0.0.2")
	if err != nil || res.Challenge == "" {
		t.Fatalf("password step: %+v %v", res, err)
	}
	if _, err := f.svc.SuspendUser(ctx, auth.ByAdmin(ada), bob.ID, "Security review"); err != nil {
		t.Fatal(err)
	}
	code, _ := auth.TOTPCode(secret, f.clock.now())
	done, err := f.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.2")
	var susp *auth.SuspendedError
	if !errors.As(err, &susp) || susp.Reason != "Security review" || done.Token != "" {
		t.Fatalf("second step after the suspension: %+v %v", done, err)
	}

	// A session stored after the suspension's transaction (as a sign-in
	// racing it would store one).
	if err := f.db.CreateSession(ctx, auth.Session{Hash: []byte("raced-session-hash-0123456789abc"), UserID: bob.ID,
		CreatedAt: f.clock.now(), LastSeen: f.clock.now(), ExpiresAt: f.clock.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ReinstateUser(ctx, auth.ByAdmin(ada), bob.ID, ""); err != nil {
		t.Fatal(err)
	}
	if sessions, err := f.db.UserSessions(ctx, bob.ID); err != nil || len(sessions) != 0 {
		t.Fatalf("after reinstating, %d sessions remain (%v)", len(sessions), err)
	}
}

// TestReasonHiddenCharacters: a reason, shown to the person affected and
// to other admins, follows the display-name rule (no format characters:
// bidirectional controls, zero-width characters; no line or paragraph
// separators; a zero-width joiner only inside an emoji) and may have
// line breaks.
func TestReasonHiddenCharacters(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	bob, err := f.svc.CreateUser(ctx, ada, "bob@example.org", "Bob", pw, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"Policy \u202eecnaifmoc\u202c ok", "zero\u200bwidth", "one\u2028two", "one\u2029two", "bom\ufeff", "tab\there", "cr\r\nlf"} {
		if _, err := f.svc.SuspendUser(ctx, auth.ByAdmin(ada), bob.ID, r); !errors.Is(err, auth.ErrReasonRequired) {
			t.Fatalf("reason %q: %v", r, err)
		}
		if _, err := f.svc.RecordLegalRequest(ctx, audit.LegalKinds[0], audit.LegalOutcomes[0], r); !errors.Is(err, auth.ErrReasonRequired) {
			t.Fatalf("note %q: %v", r, err)
		}
	}
	for _, r := range []string{"Unpaid licence.\nSee the ticket 👩🏽\u200d💻", "Rückfrage: ok"} {
		u, err := f.svc.SuspendUser(ctx, auth.ByAdmin(ada), bob.ID, r)
		if err != nil || u.SuspendReason != r {
			t.Fatalf("reason %q: %+v %v", r, u, err)
		}
		if _, err := f.svc.ReinstateUser(ctx, auth.ByAdmin(ada), bob.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
}
