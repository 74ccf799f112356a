package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestRetentionRunCommand: `kaigi admin retention run` deletes a meeting
// past the default limit (and not a young one), prints the counts,
// records the operator's run, and refuses a directory without a
// database or a configuration whose legal minimum is out of range.
func TestRetentionRunCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := admin([]string{"create-user", "--data", dir, "--email", "ada@example.org", "--name", "Ada"},
		strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("create-user: %v (%s)", err, errOut.String())
	}
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, created := range map[string]time.Time{"old": time.Now().AddDate(-2, 0, 0), "young": time.Now().AddDate(0, 0, -3)} {
		if err := db.CreateMeeting(ctx, meeting.Record{ID: meeting.ID(id), Kind: meeting.KindInstant, CreatedAt: created, Settings: meeting.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	out.Reset()
	if err := admin([]string{"retention", "run", "--data", dir}, nil, &out, &errOut); err != nil {
		t.Fatalf("retention run: %v (%s)", err, errOut.String())
	}
	if !strings.Contains(out.String(), "Deleted 1 meetings, 0 records of ended sessions and 0 audit entries; recorded as audit entry 2.") {
		t.Fatalf("output: %q", out.String())
	}
	db, err = store.OpenSQLite(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, want := range map[meeting.ID]bool{"old": false, "young": true} {
		if ok, _ := db.MeetingExists(ctx, id); ok != want {
			t.Errorf("meeting %s exists: %v, want %v", id, ok, want)
		}
	}
	entries, _ := db.AuditEntries(ctx, 1, 10)
	if len(entries) != 1 || entries[0].Action != audit.RetentionApplied || entries[0].ActorKind != audit.ActorOperator || entries[0].Details["meetings"] != "1" {
		t.Fatalf("recorded: %+v", entries)
	}

	if err := admin([]string{"retention", "run", "--data", t.TempDir()}, nil, &out, &errOut); err == nil {
		t.Error("a directory without a database was accepted")
	}
	cfg := filepath.Join(t.TempDir(), "kaigi.yaml")
	if err := os.WriteFile(cfg, []byte("retention: {audit_minimum_days: 7}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := admin([]string{"retention", "run", "--data", dir, "--config", cfg}, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "retention.audit_minimum_days") {
		t.Errorf("a legal minimum of 7 days: %v", err)
	}
	if err := admin([]string{"retention", "purge"}, nil, &out, &errOut); err == nil {
		t.Error("an unknown retention command was accepted")
	}
}
