package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestRetentionDeletesOldMeetings on a real database: instant and
// scheduled meetings past the limit go (with their bans); a personal
// room, a young or recently used meeting, one planned to end after the
// limit, one with a participant kept, and one the caller says is live
// stay.
func TestRetentionDeletesOldMeetings(t *testing.T) { eachBackend(t, testRetentionDeletesOldMeetings) }

func testRetentionDeletesOldMeetings(t *testing.T, s *DB) {
	ctx := context.Background()
	now := time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)
	cut := now.AddDate(0, 0, -365)
	old := cut.AddDate(0, 0, -10)
	if err := s.CreateUser(ctx, auth.User{ID: "u1", Email: "ada@example.org", Name: "Ada", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: old}, nil); err != nil {
		t.Fatal(err)
	}
	mk := func(id string, kind meeting.Kind, created time.Time, starts time.Time, d time.Duration) meeting.ID {
		t.Helper()
		rec := meeting.Record{ID: meeting.ID(id), Kind: kind, OwnerID: "u1", CreatedAt: created, StartsAt: starts, Duration: d, Settings: meeting.DefaultSettings(), Passcode: "123456789"}
		if err := s.CreateMeeting(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	gone := []meeting.ID{
		mk("old-instant", meeting.KindInstant, old, time.Time{}, 0),
		mk("old-scheduled", meeting.KindScheduled, old.AddDate(0, 0, -30), old, time.Hour),
		mk("old-used-long-ago", meeting.KindInstant, old.AddDate(-1, 0, 0), time.Time{}, 0),
	}
	kept := []meeting.ID{
		mk("personal", meeting.KindPersonal, old.AddDate(-2, 0, 0), time.Time{}, 0),
		mk("young", meeting.KindInstant, cut.Add(time.Hour), time.Time{}, 0),
		mk("used-lately", meeting.KindInstant, old, time.Time{}, 0),
		mk("ends-later", meeting.KindScheduled, old, cut.Add(-time.Hour), 2*time.Hour),
		mk("someone-in-it", meeting.KindInstant, old, time.Time{}, 0),
		mk("live", meeting.KindInstant, old, time.Time{}, 0),
	}
	if err := s.MarkMeetingUsed(ctx, "old-used-long-ago", old); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMeetingUsed(ctx, "used-lately", now.AddDate(0, 0, -3)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddBans(ctx, "old-instant", []meeting.Ban{{Kind: meeting.BanDevice, Value: "dev-1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, "run-1", now, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveKept(ctx, "someone-in-it", meeting.Kept{ResumeHash: sha256.Sum256([]byte("t")), Participant: meeting.Participant{ID: "p1", Name: "Ada", Role: meeting.RoleHost}}, "run-1"); err != nil {
		t.Fatal(err)
	}

	// One at a time: the limit bounds each call.
	var total int64
	for {
		n, err := s.DeleteOldMeetings(ctx, cut, []string{"live"}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n > 1 {
			t.Fatalf("deleted %d with a limit of 1", n)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total != int64(len(gone)) {
		t.Errorf("deleted %d meetings, want %d", total, len(gone))
	}
	for _, id := range gone {
		if ok, _ := s.MeetingExists(ctx, id); ok {
			t.Errorf("%s was kept", id)
		}
	}
	for _, id := range kept {
		if ok, _ := s.MeetingExists(ctx, id); !ok {
			t.Errorf("%s was deleted", id)
		}
	}
	if bans, err := s.Bans(ctx, "old-instant"); err != nil || len(bans) != 0 {
		t.Errorf("bans of a deleted meeting: %v %v", bans, err)
	}

	// A use marked within the hour is not written again; a later one is.
	if err := s.MarkMeetingUsed(ctx, "young", now); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMeetingUsed(ctx, "young", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(t, s, "young"); !got.Equal(now) {
		t.Errorf("last use %v, want %v (marked at most hourly)", got, now)
	}
	if err := s.MarkMeetingUsed(ctx, "young", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(t, s, "young"); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("last use %v, want two hours later", got)
	}
}

func lastUsed(t *testing.T, s *DB, id string) time.Time {
	t.Helper()
	var at sql.NullString
	if err := s.db.QueryRow(`SELECT last_used_at FROM meetings WHERE id = ?`, id).Scan(&at); err != nil {
		t.Fatal(err)
	}
	got, _ := parseTime(at.String)
	return got
}

// TestRetentionDeletesEndedSessions: sessions past their expiry, or
// unused longer than the idle limit, before the cut go; others stay.
func TestRetentionDeletesEndedSessions(t *testing.T) {
	eachBackend(t, testRetentionDeletesEndedSessions)
}

func testRetentionDeletesEndedSessions(t *testing.T, s *DB) {
	ctx := context.Background()
	now := time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)
	cut := now.AddDate(0, 0, -30)
	idle := 14 * 24 * time.Hour
	if err := s.CreateUser(ctx, auth.User{ID: "u1", Email: "ada@example.org", Name: "Ada", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	sess := func(name string, created, seen, expires time.Time) {
		t.Helper()
		h := sha256.Sum256([]byte(name))
		if err := s.CreateSession(ctx, auth.Session{Hash: h[:], UserID: "u1", CreatedAt: created, LastSeen: seen, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	sess("expired-long-ago", cut.AddDate(0, 0, -40), cut.AddDate(0, 0, -12), cut.AddDate(0, 0, -10))
	sess("idle-long-ago", cut.AddDate(0, 0, -25), cut.AddDate(0, 0, -20), cut.AddDate(0, 0, 5))
	sess("expired-lately", cut.AddDate(0, 0, -20), cut.AddDate(0, 0, -1), cut.AddDate(0, 0, 10))
	sess("idle-lately", cut.AddDate(0, 0, -20), cut.AddDate(0, 0, -10), cut.AddDate(0, 0, 10)) // ended at cut+4d
	sess("active", now.AddDate(0, 0, -2), now, now.AddDate(0, 0, 28))

	n, err := s.DeleteEndedSessions(ctx, cut, idle, 1000)
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v; want 2", n, err)
	}
	left, err := s.UserSessions(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"expired-long-ago", "idle-long-ago"} {
		h := sha256.Sum256([]byte(name))
		if slices.ContainsFunc(left, func(x auth.Session) bool { return string(x.Hash) == string(h[:]) }) {
			t.Errorf("%s was kept", name)
		}
	}
	if len(left) != 3 {
		t.Errorf("%d sessions left, want 3", len(left))
	}
}

// TestPruneAuditKeepsTheChain: pruning deletes only entries older than
// the cut, from the start of the log, in batches each with its anchor;
// the log verifies afterwards, the guard against deleting is back (and
// the same), and a head published before the pruning says it was
// pruned.
func TestPruneAuditKeepsTheChain(t *testing.T) { eachBackend(t, testPruneAuditKeepsTheChain) }

func testPruneAuditKeepsTheChain(t *testing.T, s *DB) {
	ctx := context.Background()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		e := orgEntry("entry")
		e.Time = t0.AddDate(0, 0, 10*i) // day 0, 10, ..., 90
		if _, err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	guard := triggerSQL(t, s)
	published, err := audit.VerifyAll(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	early := audit.Head{Seq: 2}
	all, _ := s.AuditEntries(ctx, 0, 100)
	early.Hash = all[1].Hash

	before := t0.AddDate(0, 0, 55) // entries 1..6 (days 0..50) are older
	anchor := func(last audit.Entry, count int64) audit.Entry {
		return audit.NewAnchor(t0.AddDate(0, 0, 100), audit.ActorSystem, last, count, before, 400)
	}
	var pruned []int64
	for {
		n, err := s.PruneAudit(ctx, before, 4, anchor)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		pruned = append(pruned, n)
	}
	if !slices.Equal(pruned, []int64{4, 2}) {
		t.Fatalf("pruned %v, want batches of 4 and 2", pruned)
	}
	entries, err := s.AuditEntries(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Seq != 7 || len(entries) != 6 {
		t.Fatalf("kept entries %d.. (%d), want 7.. (4 plus 2 anchors)", entries[0].Seq, len(entries))
	}
	for _, e := range entries {
		if e.Action != audit.AuditPruned && e.Time.Before(before) {
			t.Errorf("entry %d (%v) is older than the cut and kept", e.Seq, e.Time)
		}
	}
	head, err := audit.VerifyAll(ctx, s, nil)
	if err != nil {
		t.Fatalf("after pruning: %v", err)
	}
	if head.Seq != 12 {
		t.Errorf("head %v, want 12", head)
	}
	if _, err := audit.VerifyAll(ctx, s, &published); err != nil {
		t.Errorf("the head published before pruning, still kept: %v", err)
	}
	var ph *audit.PrunedHeadError
	if _, err := audit.VerifyAll(ctx, s, &early); !errors.As(err, &ph) {
		t.Errorf("a head pruned away: %v", err)
	}
	if got := triggerSQL(t, s); got != guard {
		t.Errorf("the guard after pruning:\n%s\nbefore:\n%s", got, guard)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM audit_log WHERE seq = 7`); err == nil {
		t.Error("a plain DELETE went through after pruning")
	}

	// Someone with the file (or the table's owner) deletes the next entries
	// without an anchor: verification says so.
	raw := rawDB(t, s)
	for _, q := range []string{dropTrigger(s, "audit_log_no_delete"), `DELETE FROM audit_log WHERE seq <= 8`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var broken *audit.BrokenError
	if _, err := audit.VerifyAll(ctx, s, nil); !errors.As(err, &broken) || broken.Seq != 7 {
		t.Errorf("deleted without an anchor: %v", err)
	}
}

// triggerSQL returns the guard's definition as the database keeps it
// (in PostgreSQL, with whether it is enabled).
func triggerSQL(t *testing.T, s *DB) string {
	t.Helper()
	var q string
	err := s.db.QueryRow(s.d.pick(`SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = 'audit_log_no_delete'`,
		`SELECT pg_get_triggerdef(oid) || ' enabled=' || tgenabled::text FROM pg_trigger WHERE tgname = 'audit_log_no_delete'`)).Scan(&q)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// dropTrigger is the statement that drops one of audit_log's triggers.
func dropTrigger(s *DB, name string) string {
	return `DROP TRIGGER ` + name + s.d.pick("", " ON audit_log")
}
