package server

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestStartVerifiesAuditLog: each start verifies the chain, says so, and
// records itself with the verdict; a chain edited outside Kaigi is
// reported as broken, naming the entry, and the server still starts.
func TestStartVerifiesAuditLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.OpenSQLite(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	for range 2 {
		if err := checkAudit(ctx, db, log); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(logs.String(), "audit log verified") || !strings.Contains(logs.String(), "last_entry=1") {
		t.Fatalf("logs: %s", logs.String())
	}
	entries, err := db.AuditEntries(ctx, 0, 10)
	if err != nil || len(entries) != 2 || entries[1].Action != audit.ServerStarted || entries[1].Details["chain"] != "verified to entry 1" {
		t.Fatalf("entries: %+v, %v", entries, err)
	}

	// Someone with the file removes the guard and edits the first entry.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "kaigi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET details = '{"version":"9"}' WHERE seq = 1`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	logs.Reset()
	if err := checkAudit(ctx, db, log); err != nil {
		t.Fatalf("a broken chain stopped the start: %v", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "BROKEN") || !strings.Contains(logs.String(), "entry=1") {
		t.Fatalf("logs after tampering: %s", logs.String())
	}
	entries, _ = db.AuditEntries(ctx, 0, 10)
	if last := entries[len(entries)-1]; last.Details["chain"] != "broken at entry 1" {
		t.Fatalf("the start after tampering recorded %v", last.Details)
	}
}
