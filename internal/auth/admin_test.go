package auth_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

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
