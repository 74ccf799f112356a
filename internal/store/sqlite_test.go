package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

func openTemp(t *testing.T) (*SQLite, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestMeetingRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	id := meeting.NewID()
	created := time.Date(2026, 11, 25, 9, 30, 0, 123, time.UTC)

	if ok, err := s.MeetingExists(ctx, id); err != nil || ok {
		t.Fatalf("MeetingExists before create = %v, %v", ok, err)
	}
	if _, err := s.Meeting(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Meeting before create = %v, want ErrNotFound", err)
	}
	if err := s.CreateMeeting(ctx, Meeting{ID: id, CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Meeting(ctx, id)
	if err != nil || got.ID != id || !got.CreatedAt.Equal(created) {
		t.Fatalf("Meeting = %+v, %v", got, err)
	}
	if ok, err := s.MeetingExists(ctx, id); err != nil || !ok {
		t.Fatalf("MeetingExists after create = %v, %v", ok, err)
	}
	if err := s.CreateMeeting(ctx, Meeting{ID: id, CreatedAt: created}); err == nil {
		t.Fatal("creating the same meeting twice succeeded")
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	id := meeting.NewID()
	if err := s.CreateMeeting(ctx, Meeting{ID: id, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if ok, _ := s.MeetingExists(ctx, id); !ok {
		t.Fatal("meeting lost across reopen")
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("schema_migrations has %d rows, %v; want each migration once", n, err)
	}
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kaigi.db")); err != nil {
		t.Fatal(err)
	}
}

func TestOpenFailsOnMissingDirectory(t *testing.T) {
	_, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir"))
	if err == nil {
		t.Fatal("opened a database in a directory that does not exist")
	}
}
