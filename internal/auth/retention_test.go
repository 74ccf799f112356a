package auth_test

import (
	"bytes"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/kaigi-meet/kaigi/internal/usage"
)

func TestRetentionValidate(t *testing.T) {
	ok := []auth.Retention{
		auth.DefaultRetention(),
		{}, // everything kept forever
		{MeetingDays: 1, AuditDays: 365, ExpiredSessionDays: 1},
		{MeetingDays: auth.MaxRetentionDays, AuditDays: auth.MaxRetentionDays, ExpiredSessionDays: auth.MaxRetentionDays},
	}
	for _, r := range ok {
		if err := r.Validate(365); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	bad := []auth.Retention{
		{MeetingDays: -1},
		{ExpiredSessionDays: auth.MaxRetentionDays + 1},
		{AuditDays: 364},
		{AuditDays: 1},
	}
	for _, r := range bad {
		var re *auth.RetentionError
		if err := r.Validate(365); !errors.As(err, &re) || re.Message == "" {
			t.Errorf("%+v accepted: %v", r, err)
		}
	}
	err := auth.Retention{AuditDays: 100}.Validate(365)
	if err == nil || !strings.Contains(err.Error(), "at least 365 days") || !strings.Contains(err.Error(), "legal minimum") {
		t.Errorf("below the floor: %v", err)
	}
}

// TestRetentionCutoffs: limits count whole days back from midnight UTC;
// the audit limit is never below the floor; 0 is no limit.
func TestRetentionCutoffs(t *testing.T) {
	now := time.Date(2027, 6, 1, 15, 30, 0, 0, time.FixedZone("x", 2*3600))
	r := auth.Retention{MeetingDays: 365, AuditDays: 400, ExpiredSessionDays: 30}
	c := r.Cutoffs(now, 500)
	day := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	if !c.Meetings.Equal(day.AddDate(0, 0, -365)) || !c.Sessions.Equal(day.AddDate(0, 0, -30)) {
		t.Errorf("cutoffs %+v", c)
	}
	if c.AuditKeepDays != 500 || !c.Audit.Equal(day.AddDate(0, 0, -500)) {
		t.Errorf("audit cutoff %v (%d days), want the floor's 500", c.Audit, c.AuditKeepDays)
	}
	c = auth.Retention{}.Cutoffs(now, 500)
	if !c.Meetings.IsZero() || !c.Sessions.IsZero() || !c.Audit.IsZero() {
		t.Errorf("keep forever gave %+v", c)
	}
}

// TestOrgRetentionSettings: the organisation's form saves the limits,
// refuses one below the server's floor with words saying so, keeps the
// current limits when none are sent, and shows the floor.
func TestOrgRetentionSettings(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) { o.AuditMinimumDays = 400 })
	admin, _, err := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	org, err := f.svc.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if org.Retention == nil || *org.Retention != (auth.Retention{MeetingDays: 365, AuditDays: 730, ExpiredSessionDays: 30, AuditMinimumDays: 400}) {
		t.Fatalf("a fresh organisation's retention: %+v", org.Retention)
	}
	org.Retention = &auth.Retention{MeetingDays: 90, AuditDays: 399, ExpiredSessionDays: 7}
	var re *auth.RetentionError
	if err := f.svc.UpdateOrg(ctx, admin, org); !errors.As(err, &re) || !strings.Contains(re.Message, "400 days") {
		t.Fatalf("below the floor: %v", err)
	}
	org.Retention.AuditDays = 0 // keep forever
	if err := f.svc.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatal(err)
	}
	org.Name, org.Retention = "Renamed", nil // an older client sends none
	if err := f.svc.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Org(ctx)
	if got.Name != "Renamed" || *got.Retention != (auth.Retention{MeetingDays: 90, AuditDays: 0, ExpiredSessionDays: 7, AuditMinimumDays: 400}) {
		t.Fatalf("saved: %s %+v", got.Name, got.Retention)
	}
	entries, _ := f.db.AuditEntries(ctx, 0, 100)
	var change audit.Entry
	for _, e := range entries {
		if e.Action == audit.OrgPolicyChanged && e.Details["retention.meetingDays"] != "" {
			change = e
		}
	}
	if change.Details["retention.meetingDays"] != "90" || change.Details["retention.auditDays"] != "0" {
		t.Errorf("the policy change's entry: %v", change.Details)
	}
}

// TestApplyRetention runs the job on a real database with a fake clock:
// nothing is deleted (or recorded) before its time; then old meetings
// and sessions go, counted in one entry; then audit entries past the
// limit, with an anchor, and the chain still verifies; a meeting in
// progress and a personal room are kept; the operator's run is recorded
// even when it deletes nothing.
func TestApplyRetention(t *testing.T) {
	f := newFixture(t)
	start := f.clock.now()
	admin, _, err := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1") // a session, and user.created
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"instant", "live"} {
		if err := f.db.CreateMeeting(ctx, meeting.Record{ID: meeting.ID(id), Kind: meeting.KindInstant, OwnerID: admin.ID, CreatedAt: start, Settings: meeting.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.CreateMeeting(ctx, meeting.Record{ID: "room", Kind: meeting.KindPersonal, OwnerID: admin.ID, CreatedAt: start, Settings: meeting.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	// Usage figures: the start's day goes with the meetings' limit, a
	// recent day stays.
	late := start.Add(369 * 24 * time.Hour).UTC().Format(usage.DateFormat)
	if err := f.db.AddUsage(ctx, []usage.Day{{Date: start.UTC().Format(usage.DateFormat), Meetings: 1}, {Date: late, Meetings: 2}}); err != nil {
		t.Fatal(err)
	}
	run := auth.RetentionRun{Live: func() []string { return []string{"live"} }}
	countEntries := func() int {
		e, err := f.db.AuditEntries(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(e)
	}

	f.clock.advance(40 * 24 * time.Hour) // day 40: the session ended on day 14, 26 days ago
	n := countEntries()
	res, err := f.svc.ApplyRetention(ctx, f.db, run)
	if err != nil || res.Deleted() != 0 || res.Entry.Seq != 0 || countEntries() != n {
		t.Fatalf("before any limit: %+v, %v; %d entries, were %d", res, err, countEntries(), n)
	}

	f.clock.advance(330 * 24 * time.Hour) // day 370: the meeting (365) and the session (30 after its end) are past
	res, err = f.svc.ApplyRetention(ctx, f.db, run)
	if err != nil {
		t.Fatal(err)
	}
	if res.Meetings != 1 || res.Sessions != 1 || res.AuditEntries != 0 || res.UsageDays != 1 {
		t.Fatalf("day 370 deleted %+v", res)
	}
	if days, _ := f.db.UsageDays(ctx, start, f.clock.now()); len(days) != 1 || days[0].Date != late {
		t.Fatalf("usage days left: %+v", days)
	}
	if res.Entry.Action != audit.RetentionApplied || res.Entry.ActorKind != audit.ActorSystem ||
		res.Entry.Details["meetings"] != "1" || res.Entry.Details["sessions"] != "1" || res.Entry.Details["auditEntries"] != "0" {
		t.Fatalf("the run's entry: %+v", res.Entry)
	}
	for id, want := range map[meeting.ID]bool{"instant": false, "live": true, "room": true} {
		if ok, _ := f.db.MeetingExists(ctx, id); ok != want {
			t.Errorf("meeting %s exists: %v, want %v", id, ok, want)
		}
	}
	if !strings.Contains(f.logs.String(), "retention: deleted") || strings.Contains(f.logs.String(), "ada@example.org") {
		t.Errorf("logs: %s", f.logs.String())
	}
	// Again the same day: nothing more, nothing recorded.
	n = countEntries()
	if res, err := f.svc.ApplyRetention(ctx, f.db, run); err != nil || res.Deleted() != 0 || countEntries() != n {
		t.Fatalf("a second run: %+v %v", res, err)
	}

	f.clock.advance(400 * 24 * time.Hour) // day 770: entries of day 0 are past 730 days
	before := countEntries()
	res, err = f.svc.ApplyRetention(ctx, f.db, run)
	if err != nil {
		t.Fatal(err)
	}
	if res.AuditEntries != 1 { // user.created on day 0 (the first account)
		t.Fatalf("day 770 deleted %+v", res)
	}
	entries, _ := f.db.AuditEntries(ctx, 0, 1000)
	if len(entries) != before-1+2 || entries[0].Seq != 2 {
		t.Fatalf("after pruning: %d entries from %d", len(entries), entries[0].Seq)
	}
	anchor, last := entries[len(entries)-2], entries[len(entries)-1]
	if anchor.Action != audit.AuditPruned || anchor.Details["through"] != "1" || anchor.Details["keepDays"] != "730" ||
		last.Action != audit.RetentionApplied || last.Details["auditEntries"] != "1" {
		t.Fatalf("the anchor and the run: %+v %+v", anchor, last)
	}
	if _, err := audit.VerifyAll(ctx, f.db, nil); err != nil {
		t.Fatalf("the chain after retention: %v", err)
	}

	// The operator's run is recorded even when nothing is deleted.
	res, err = f.svc.ApplyRetention(ctx, f.db, auth.RetentionRun{ByOperator: true, Live: run.Live})
	if err != nil || res.Deleted() != 0 || res.Entry.ActorKind != audit.ActorOperator || res.Entry.Action != audit.RetentionApplied {
		t.Fatalf("the operator's run: %+v %v", res, err)
	}
}

// TestRetentionKeepsABrokenChain: audit entries past the limit are not
// deleted from a chain that does not verify (that would destroy the
// evidence); the run says so, and the rest of retention still runs.
func TestRetentionKeepsABrokenChain(t *testing.T) {
	dir := t.TempDir()
	db, err := store.OpenSQLite(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	var logs bytes.Buffer
	svc := auth.NewService(auth.Options{Store: db, Now: c.now, Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	f := &fixture{svc: svc, db: db, clock: c, logs: &logs}
	if _, _, err := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	// Tamper with entry 1 as someone with the file would.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "kaigi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET reason = 'edited' WHERE seq = 1`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.advance(800 * 24 * time.Hour)
	res, err := f.svc.ApplyRetention(ctx, f.db, auth.RetentionRun{})
	if err != nil {
		t.Fatal(err)
	}
	if res.AuditEntries != 0 || res.AuditRefused == "" || res.Sessions != 1 || res.Entry.Details["auditRefused"] == "" {
		t.Fatalf("a broken chain: %+v", res)
	}
	if e, _ := f.db.AuditEntries(ctx, 0, 1); len(e) == 0 || e[0].Seq != 1 {
		t.Fatal("entries of a broken chain were deleted")
	}
	if !strings.Contains(f.logs.String(), "destroy evidence") {
		t.Errorf("logs: %s", f.logs.String())
	}
}
