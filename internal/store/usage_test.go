package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/usage"
)

func day(s string) time.Time {
	d, err := time.Parse(usage.DateFormat, s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestUsageDaysAddUp: flushes add to a day's row, keep its greatest peak,
// read back by range, and pruning by date removes the days before.
func TestUsageDaysAddUp(t *testing.T) { eachBackend(t, testUsageDaysAddUp) }

func testUsageDaysAddUp(t *testing.T, s *DB) {
	ctx := context.Background()
	if err := s.AddUsage(ctx, []usage.Day{
		{Date: "2026-03-10", Meetings: 1, Participants: 2, ParticipantSeconds: 100, MeetingSeconds: 50, PeakParticipants: 2},
		{Date: "2026-03-11", Meetings: 1, Participants: 1, ParticipantSeconds: 10, MeetingSeconds: 10, PeakParticipants: 1},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, []usage.Day{
		{Date: "2026-03-10", Participants: 3, ParticipantSeconds: 20, MeetingSeconds: 5, PeakParticipants: 1}, // a lower peak later
		{Date: "2026-03-12", Meetings: 4, PeakParticipants: 9},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.UsageDays(ctx, day("2026-03-10"), day("2026-03-11"))
	if err != nil {
		t.Fatal(err)
	}
	want := []usage.Day{
		{Date: "2026-03-10", Meetings: 1, Participants: 5, ParticipantSeconds: 120, MeetingSeconds: 55, PeakParticipants: 2},
		{Date: "2026-03-11", Meetings: 1, Participants: 1, ParticipantSeconds: 10, MeetingSeconds: 10, PeakParticipants: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read %+v,\nwant %+v", got, want)
	}
	if err := s.AddUsage(ctx, []usage.Day{{Date: "2026-03-10", PeakParticipants: 7}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.UsageDays(ctx, day("2026-03-10"), day("2026-03-10"))
	if len(got) != 1 || got[0].PeakParticipants != 7 || got[0].Participants != 5 {
		t.Fatalf("a higher peak: %+v", got)
	}

	n, err := s.PruneUsage(ctx, day("2026-03-12"))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d days (%v), want 2", n, err)
	}
	got, _ = s.UsageDays(ctx, day("2000-01-01"), day("2100-01-01"))
	if len(got) != 1 || got[0].Date != "2026-03-12" || got[0].Meetings != 4 {
		t.Fatalf("after pruning %+v", got)
	}
}

// TestAddUsageIsAllOrNothing: a bad day in a batch (not a date, or a
// negative count the table refuses) leaves the others unwritten, so the
// recorder can put the whole batch back and try again.
func TestAddUsageIsAllOrNothing(t *testing.T) { eachBackend(t, testAddUsageIsAllOrNothing) }

func testAddUsageIsAllOrNothing(t *testing.T, s *DB) {
	ctx := context.Background()
	for _, bad := range []usage.Day{{Date: "10/03/2026"}, {Date: "2026-03-11", Meetings: -1}} {
		if err := s.AddUsage(ctx, []usage.Day{{Date: "2026-03-10", Meetings: 1}, bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if got, _ := s.UsageDays(ctx, day("2000-01-01"), day("2100-01-01")); len(got) != 0 {
		t.Fatalf("a failed batch left %+v", got)
	}
}

// TestRecorderIntoSQLite runs the recorder against the real store: what a
// meeting across midnight adds is read back split by day.
func TestRecorderIntoSQLite(t *testing.T) { eachBackend(t, testRecorderIntoSQLite) }

func testRecorderIntoSQLite(t *testing.T, s *DB) {
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 23, 50, 0, 0, time.UTC)
	r := usage.NewRecorder(usage.Options{Store: s, FlushEvery: -1, Now: func() time.Time { return now }})
	r.Admitted("m", 0, "a")
	r.Admitted("m", 0, "b")
	now = now.Add(20 * time.Minute)
	r.Closed("m", 0)
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.UsageDays(ctx, day("2026-03-10"), day("2026-03-11"))
	if err != nil {
		t.Fatal(err)
	}
	want := []usage.Day{
		{Date: "2026-03-10", Meetings: 1, Participants: 2, ParticipantSeconds: 2 * 600, MeetingSeconds: 600, PeakParticipants: 2},
		{Date: "2026-03-11", ParticipantSeconds: 2 * 600, MeetingSeconds: 600, PeakParticipants: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read %+v,\nwant %+v", got, want)
	}
}
