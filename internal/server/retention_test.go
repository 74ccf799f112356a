package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestRetentionJobAtStart: a server started on a database holding a
// meeting past the default limit deletes it in its first retention run
// (a young one stays), records the run with its counts, logs the counts
// and nothing of the meeting, and the chain still verifies.
func TestRetentionJobAtStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.OpenSQLite(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	oldID, youngID := meeting.NewID(), meeting.NewID()
	for id, created := range map[meeting.ID]time.Time{oldID: time.Now().AddDate(-2, 0, 0), youngID: time.Now().AddDate(0, 0, -1)} {
		if err := db.CreateMeeting(ctx, meeting.Record{ID: id, Kind: meeting.KindInstant, Title: "Secret title",
			CreatedAt: created, Settings: meeting.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	srv := servertest.Start(t, servertest.Options{Config: func(c *config.Config) { c.Data = dir }})
	deadline := time.Now().Add(15 * time.Second)
	var rep audit.Report
	for {
		rep, err = srv.Accounts().TransparencyReport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Totals[audit.RetentionApplied] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no retention run recorded: %+v", rep.Totals)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !rep.Verified || rep.Totals[audit.RetentionApplied] != 1 {
		t.Fatalf("report: verified %v, totals %v", rep.Verified, rep.Totals)
	}
	// The log, before any request names a meeting. Its line comes just
	// after the run's entry is recorded: wait for it.
	for !strings.Contains(srv.Logs(), "retention: deleted") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	logs := srv.Logs()
	if !strings.Contains(logs, "retention: deleted") || !strings.Contains(logs, "meetings=1") || strings.Contains(logs, string(oldID)) || strings.Contains(logs, "Secret title") {
		t.Errorf("logs: %s", logs)
	}
	admin := srv.Admin(t)
	var page struct {
		Entries []struct {
			Action  string            `json:"action"`
			Actor   string            `json:"actorKind"`
			Details map[string]string `json:"details"`
		} `json:"entries"`
	}
	if code := admin.Do(t, "GET", "/api/admin/audit", nil, &page); code != 200 {
		t.Fatalf("GET /api/admin/audit: %d", code)
	}
	found := false
	for _, e := range page.Entries {
		if e.Action == string(audit.RetentionApplied) {
			found = e.Actor == "system" && e.Details["meetings"] == "1" && e.Details["sessions"] == "0"
		}
	}
	if !found {
		t.Errorf("the run's entry: %+v", page.Entries)
	}
	var m map[string]any
	if code := admin.Do(t, "GET", "/api/meetings/"+string(oldID), nil, &m); code != 404 {
		t.Errorf("the old meeting: %d", code)
	}
	if code := admin.Do(t, "GET", "/api/meetings/"+string(youngID), nil, &m); code != 200 {
		t.Errorf("the young meeting: %d", code)
	}
}
