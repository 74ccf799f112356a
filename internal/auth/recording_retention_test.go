package auth_test

import (
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestRetentionDeletesOldRecordings: the retention job deletes a
// recording past the meetings' limit (counted from its start) and keeps
// a younger one, and counts it in its audit entry.
func TestRetentionDeletesOldRecordings(t *testing.T) {
	f := newFixture(t)
	start := f.clock.now()
	ada, _, err := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	old, young := store.NewRecordingID(), store.NewRecordingID()
	for id, at := range map[string]time.Time{old: start, young: start.Add(300 * 24 * time.Hour)} {
		if err := f.db.CreateRecording(ctx, store.Recording{ID: id, MeetingID: "m", RecorderID: ada.ID, StartedAt: at}, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.advance(370 * 24 * time.Hour) // past the default 365 days for the first only
	res, err := f.svc.ApplyRetention(ctx, f.db, auth.RetentionRun{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Recordings != 1 || res.Entry.Details["recordings"] != "1" {
		t.Fatalf("retention deleted %+v", res)
	}
	if _, err := f.db.RecordingByID(ctx, old); err == nil {
		t.Fatal("the old recording is still there")
	}
	if _, err := f.db.RecordingByID(ctx, young); err != nil {
		t.Fatalf("the young recording went: %v", err)
	}
}
