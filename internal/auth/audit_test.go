package auth_test

import (
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

// TestAdministrativeActionsAudited: the first account becoming admin, an
// admin creating an account, the operator creating one and a policy change
// are each in the audit log with who did it; a member signing up and the
// refused attempts of a member are not; the chain verifies.
func TestAdministrativeActionsAudited(t *testing.T) {
	f := newFixture(t)
	admin, _, err := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	org, _ := f.svc.Org(ctx)
	org.AllowSignUp, org.MeetingDefaults.Chat = true, "hosts"
	if err := f.svc.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatal(err)
	}
	bob, _, err := f.svc.SignUp(ctx, "bob@example.org", "Bob", pw, "10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UpdateOrg(ctx, bob, org); err == nil {
		t.Fatal("a member changed the policy")
	}
	cy, err := f.svc.CreateUser(ctx, admin, "cy@example.org", "Cy", pw, auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	dee, err := f.svc.CreateFromCommandLine(ctx, "dee@example.org", "Dee", pw, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}

	entries, err := f.db.AuditEntries(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		action  audit.Action
		actor   audit.ActorKind
		actorID string
		subject string
		detail  [2]string
	}
	wants := []want{
		{audit.UserCreated, audit.ActorSystem, "", admin.ID, [2]string{"role", "admin"}},
		{audit.OrgPolicyChanged, audit.ActorUser, admin.ID, "", [2]string{"meetingDefaults.chat", `"hosts"`}},
		{audit.UserCreated, audit.ActorUser, admin.ID, cy.ID, [2]string{"role", "admin"}},
		{audit.UserCreated, audit.ActorOperator, "", dee.ID, [2]string{"role", "member"}},
	}
	if len(entries) != len(wants) {
		t.Fatalf("%d entries, want %d: %+v", len(entries), len(wants), entries)
	}
	for i, w := range wants {
		e := entries[i]
		if e.Action != w.action || e.ActorKind != w.actor || e.ActorID != w.actorID || e.SubjectID != w.subject || e.Details[w.detail[0]] != w.detail[1] {
			t.Errorf("entry %d = %+v, want %+v", i+1, e, w)
		}
	}
	if got := entries[1].Details; len(got) != 2 || got["allowSignUp"] != "true" {
		t.Errorf("policy change details = %v, want exactly the two changed fields", got)
	}
	if entries[0].Reason == "" {
		t.Error("the first account's promotion gives no reason")
	}
	if _, err := audit.VerifyAll(ctx, f.db, nil); err != nil {
		t.Fatal(err)
	}
}

// TestExportRecordedOncePerDay: an account's data export can be made any
// number of times (it is a GET, which another site can trigger), but the
// audit log gains at most one user.exported entry per account and UTC
// day, so exports cannot grow the log without bound.
func TestExportRecordedOncePerDay(t *testing.T) {
	f := newFixture(t)
	ada, _, _ := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	bob, err := f.svc.CreateUser(ctx, ada, "bob@example.org", "Bob", pw, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	exported := func() (byAda, byBob int) {
		entries, err := f.db.AuditEntries(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Action == audit.UserExported {
				if e.SubjectID == bob.ID {
					byBob++
				} else {
					byAda++
				}
			}
		}
		return byAda, byBob
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.ExportMine(ctx, ada); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, err := f.svc.ExportMine(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if a, b := exported(); a != 1 || b != 1 {
		t.Fatalf("after 20 exports by Ada and one by Bob: %d and %d entries", a, b)
	}
	f.clock.advance(24 * time.Hour)
	ex, err := f.svc.ExportMine(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := exported(); a != 2 {
		t.Fatalf("the next day: %d entries", a)
	}
	if len(ex.Audit) == 0 || ex.Audit[0].Action != audit.UserExported {
		t.Fatalf("the export lists %+v", ex.Audit)
	}
}
