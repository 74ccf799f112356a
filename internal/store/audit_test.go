package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

func orgEntry(reason string) audit.Entry {
	return audit.Entry{Time: time.Now(), ActorKind: audit.ActorUser, ActorID: "admin1", Action: audit.OrgPolicyChanged,
		SubjectKind: audit.SubjectOrg, Reason: reason, Details: map[string]string{"require2FA": "true"}}
}

func auditCount(t *testing.T, s *DB) int {
	t.Helper()
	entries, err := s.AuditEntries(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestAuditWrittenWithTheAction: an action and its entry commit together;
// when either fails, neither is kept.
func TestAuditWrittenWithTheAction(t *testing.T) { eachBackend(t, testAuditWrittenWithTheAction) }

func testAuditWrittenWithTheAction(t *testing.T, s *DB) {
	ctx := context.Background()

	o := auth.DefaultOrg()
	o.Require2FA = true
	if err := s.SetOrg(ctx, o, orgEntry("review")); err != nil {
		t.Fatal(err)
	}
	// An entry that cannot be sealed refuses the action too.
	o.AllowSignUp = true
	bad := orgEntry("x")
	bad.Action = ""
	if err := s.SetOrg(ctx, o, bad); err == nil {
		t.Fatal("an unsealable entry was accepted")
	}
	if got, _ := s.Org(ctx); got.AllowSignUp {
		t.Error("the policy changed without its audit entry")
	}

	u := auth.User{ID: "u1", Email: "ada@example.org", Name: "Ada", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: time.Now()}
	rec := &audit.Entry{Time: time.Now(), ActorKind: audit.ActorOperator, Action: audit.UserCreated, SubjectKind: audit.SubjectUser, SubjectID: "u1"}
	if err := s.CreateUser(ctx, u, rec); err != nil {
		t.Fatal(err)
	}
	// A failing action leaves no entry.
	dup := u
	dup.ID = "u2"
	rec2 := *rec
	rec2.SubjectID = "u2"
	if err := s.CreateUser(ctx, dup, &rec2); !errors.Is(err, auth.ErrEmailTaken) {
		t.Fatalf("duplicate: %v", err)
	}
	if n := auditCount(t, s); n != 2 {
		t.Fatalf("%d entries, want 2 (the refused action left one?)", n)
	}
	head, err := audit.VerifyAll(ctx, s, nil)
	if err != nil || head.Seq != 2 {
		t.Fatalf("verify: %v, head %v", err, head)
	}
	about, err := s.AuditAboutUser(ctx, "u1", 10)
	if err != nil || len(about) != 1 || about[0].Action != audit.UserCreated || about[0].ActorKind != audit.ActorOperator {
		t.Fatalf("entries about u1: %+v, %v", about, err)
	}
}

// TestAuditAppendOnly: the database refuses changes and deletions of
// entries made through SQL; someone who drops that guard and changes one
// byte of a middle entry is named by verification.
func TestAuditAppendOnly(t *testing.T) { eachBackend(t, testAuditAppendOnly) }

func testAuditAppendOnly(t *testing.T, s *DB) {
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.AppendAudit(ctx, orgEntry(fmt.Sprintf("change %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE audit_log SET reason = 'x' WHERE seq = 3`); err == nil {
		t.Error("an entry was updated")
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM audit_log WHERE seq = 5`); err == nil {
		t.Error("an entry was deleted")
	}
	if s.d.postgres {
		if _, err := s.db.ExecContext(ctx, `TRUNCATE audit_log`); err == nil {
			t.Error("the log was truncated")
		}
	}
	if _, err := audit.VerifyAll(ctx, s, nil); err != nil {
		t.Fatalf("untouched log: %v", err)
	}

	for _, tamper := range []struct {
		name, sql string
		seq       int64
	}{
		{"reason", `UPDATE audit_log SET reason = 'change 3' WHERE seq = 3`, 3}, // one byte: '2' → '3'
		{"time", `UPDATE audit_log SET at_ms = at_ms + 1 WHERE seq = 2`, 2},
		{"details", `UPDATE audit_log SET details = '{"require2FA":"false"}' WHERE seq = 4`, 4},
		{"details not JSON", `UPDATE audit_log SET details = '{' WHERE seq = 2`, 2},
		{"hash cut short", `UPDATE audit_log SET hash = ` + s.d.pick(`x'00'`, `'\x00'::bytea`) + ` WHERE seq = 3`, 3},
		{"removed", `DELETE FROM audit_log WHERE seq = 2`, 2},
	} {
		t.Run(tamper.name, func(t *testing.T) {
			s := sibling(t, s)
			for i := range 5 {
				if _, err := s.AppendAudit(ctx, orgEntry(fmt.Sprintf("change %d", i))); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range []string{dropTrigger(s, "audit_log_no_update"), dropTrigger(s, "audit_log_no_delete"), tamper.sql} {
				if _, err := s.db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			_, err := audit.VerifyAll(ctx, s, nil)
			var broken *audit.BrokenError
			if !errors.As(err, &broken) || broken.Seq != tamper.seq {
				t.Fatalf("verify after tampering: %v, want entry %d named", err, tamper.seq)
			}
		})
	}
}

// TestAuditConcurrentAppends: writers racing each other still make one
// chain without gaps.
func TestAuditConcurrentAppends(t *testing.T) { eachBackend(t, testAuditConcurrentAppends) }

func testAuditConcurrentAppends(t *testing.T, s *DB) { appendConcurrently(t, s, 40) }

// appendConcurrently has n writers append at once and checks that they
// made one chain of n entries without gaps.
func appendConcurrently(t *testing.T, s *DB, n int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.AppendAudit(ctx, orgEntry(fmt.Sprint(i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	head, err := audit.VerifyAll(ctx, s, nil)
	if err != nil || head.Seq != int64(n) {
		t.Fatalf("verify: %v, head %v", err, head)
	}
}

// TestAuditVerifyPages: a log longer than one page verifies, and a head
// published partway is found.
func TestAuditVerifyPages(t *testing.T) { eachBackend(t, testAuditVerifyPages) }

func testAuditVerifyPages(t *testing.T, s *DB) {
	ctx := context.Background()
	var mid audit.Entry
	for i := range 1205 {
		e, err := s.AppendAudit(ctx, orgEntry(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq == 1100 {
			mid = e
		}
	}
	head, err := audit.VerifyAll(ctx, s, &audit.Head{Seq: mid.Seq, Hash: mid.Hash})
	if err != nil || head.Seq != 1205 {
		t.Fatalf("verify: %v, head %v", err, head)
	}
}

// TestAuditPagingAfterPruning: after retention deleted the oldest
// entries (so numbers no longer start at 1), the admin page's "older"
// pages go back through every stored entry once, newest first, and end.
func TestAuditPagingAfterPruning(t *testing.T) { eachBackend(t, testAuditPagingAfterPruning) }

func testAuditPagingAfterPruning(t *testing.T, s *DB) {
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)
	for i := range 300 {
		e := orgEntry(fmt.Sprint(i))
		e.Time = t0.Add(time.Duration(i) * time.Millisecond)
		if _, err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	cut := t0.Add(150 * time.Millisecond)
	n, err := s.PruneAudit(ctx, cut, 1000, func(last audit.Entry, count int64) audit.Entry {
		return audit.NewAnchor(time.Now(), audit.ActorSystem, last, count, cut, 400)
	})
	if err != nil || n != 150 {
		t.Fatalf("pruned %d: %v", n, err)
	}
	stored, err := s.AuditEntries(ctx, 0, 1000)
	if err != nil || len(stored) != 151 || stored[0].Seq != 151 {
		t.Fatalf("stored %d entries from %d: %v", len(stored), stored[0].Seq, err)
	}

	svc := auth.NewService(auth.Options{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	admin := auth.User{ID: "a", Role: auth.RoleAdmin}
	var seen []int64
	before := int64(0)
	for pages := 0; ; pages++ {
		if pages > len(stored) {
			t.Fatalf("paging does not end: %d pages", pages)
		}
		p, err := svc.AuditLog(ctx, admin, before, 40)
		if err != nil || !p.Verified {
			t.Fatalf("page before %d: %v verified=%v", before, err, p.Verified)
		}
		if len(p.Entries) == 0 {
			break
		}
		for _, e := range p.Entries {
			if len(seen) > 0 && e.Seq >= seen[len(seen)-1] {
				t.Fatalf("page before %d holds entry %d after entry %d", before, e.Seq, seen[len(seen)-1])
			}
			seen = append(seen, e.Seq)
		}
		before = seen[len(seen)-1]
	}
	if len(seen) != len(stored) || seen[0] != stored[len(stored)-1].Seq || seen[len(seen)-1] != stored[0].Seq {
		t.Fatalf("paged through %d entries (%d..%d), %d stored", len(seen), seen[0], seen[len(seen)-1], len(stored))
	}

	// AuditBefore itself: newest first, strictly before, at most limit.
	got, err := s.AuditBefore(ctx, 160, 5)
	if err != nil || len(got) != 5 || got[0].Seq != 159 || got[4].Seq != 155 {
		t.Fatalf("AuditBefore(160, 5): %v %v", got, err)
	}
	if got, err := s.AuditBefore(ctx, 151, 5); err != nil || len(got) != 0 {
		t.Fatalf("AuditBefore(151, 5): %d entries, %v", len(got), err)
	}
}
