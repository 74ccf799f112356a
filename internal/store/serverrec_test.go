package store

import (
	"context"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// TestRecordingKind (migration 0018, both backends): a recording stored
// without a kind is a browser's; one the server made reads back as the
// server's, by ID and in its recorder's list.
func TestRecordingKind(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, s *DB) {
		t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
		if err := s.CreateUser(ctx, auth.User{ID: "ada", Email: "ada@example.org", Name: "Ada", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: t0}, nil); err != nil {
			t.Fatal(err)
		}
		browser := Recording{ID: NewRecordingID(), MeetingID: "m1", RecorderID: "ada", E2EE: true, StartedAt: t0}
		server := Recording{ID: NewRecordingID(), MeetingID: "m1", RecorderID: "ada", StartedAt: t0.Add(time.Minute), Kind: KindServer}
		for _, r := range []Recording{browser, server} {
			if err := s.CreateRecording(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
		}
		for id, want := range map[string]string{browser.ID: KindBrowser, server.ID: KindServer} {
			if r, err := s.RecordingByID(ctx, id); err != nil || r.Kind != want {
				t.Fatalf("recording %s: kind %q, %v; want %q", id, r.Kind, err, want)
			}
		}
		list, err := s.RecordingsOf(ctx, "ada")
		if err != nil || len(list) != 2 || list[0].Kind != KindServer || list[1].Kind != KindBrowser {
			t.Fatalf("ada's recordings: %+v, %v", list, err)
		}
	})
}
