package usage

import (
	"errors"
	"testing"
	"time"
)

func date(s string) time.Time {
	d, err := time.Parse(DateFormat, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestParseRange(t *testing.T) {
	now := time.Date(2026, 3, 11, 15, 4, 5, 0, time.UTC) // a Wednesday
	for _, c := range []struct {
		from, to, by   string
		wantFrom, want string
		wantBy         By
	}{
		{"", "", "", "2026-02-10", "2026-03-11", ByDay},
		{"", "", "week", "2025-12-22", "2026-03-11", ByWeek}, // 12 ISO weeks, the first from its Monday
		{"2026-01-01", "2026-01-31", "day", "2026-01-01", "2026-01-31", ByDay},
		{"2025-03-11", "2026-03-11", "week", "2025-03-11", "2026-03-11", ByWeek}, // 366 days
		{"2026-03-11", "2026-03-11", "", "2026-03-11", "2026-03-11", ByDay},
	} {
		rg, err := ParseRange(c.from, c.to, c.by, now)
		if err != nil {
			t.Errorf("%q %q %q: %v", c.from, c.to, c.by, err)
			continue
		}
		if got := rg.From.Format(DateFormat); got != c.wantFrom || rg.To.Format(DateFormat) != c.want || rg.By != c.wantBy {
			t.Errorf("%q %q %q: %s..%s by %s, want %s..%s by %s", c.from, c.to, c.by, got, rg.To.Format(DateFormat), rg.By, c.wantFrom, c.want, c.wantBy)
		}
	}
	for _, c := range [][3]string{
		{"2026-03-12", "2026-03-11", ""},           // from after to
		{"2025-03-10", "2026-03-11", ""},           // 367 days
		{"2026-02-30", "2026-03-11", ""},           // no such date
		{"2026-3-1", "2026-03-11", ""},             // not YYYY-MM-DD
		{"", "tomorrow", ""},                       // not a date
		{"2026-03-01", "2026-03-11", "month"},      // no such grouping
		{"2026-03-01T00:00:00Z", "2026-03-11", ""}, // a time, not a date
	} {
		if _, err := ParseRange(c[0], c[1], c[2], now); !errors.Is(err, ErrRange) {
			t.Errorf("%q: got %v, want ErrRange", c, err)
		}
	}
}

func TestBuildReportByDay(t *testing.T) {
	rg := Range{From: date("2026-03-09"), To: date("2026-03-11"), By: ByDay}
	r := BuildReport(rg, []Day{
		{Date: "2026-03-11", Meetings: 2, Participants: 5, ParticipantSeconds: 89, MeetingSeconds: 30, PeakParticipants: 4},
		{Date: "2026-03-09", Meetings: 1, Participants: 2, ParticipantSeconds: 60, MeetingSeconds: 60, PeakParticipants: 2},
		{Date: "2026-03-12", Meetings: 9}, // outside the range
	})
	if len(r.Buckets) != 3 {
		t.Fatalf("%d buckets, want 3 (the empty day too)", len(r.Buckets))
	}
	want := []Bucket{
		{Start: "2026-03-09", End: "2026-03-09", Meetings: 1, Participants: 2, ParticipantMinutes: 1, MeetingMinutes: 1, PeakParticipants: 2},
		{Start: "2026-03-10", End: "2026-03-10"},
		{Start: "2026-03-11", End: "2026-03-11", Meetings: 2, Participants: 5, ParticipantMinutes: 1, MeetingMinutes: 1, PeakParticipants: 4},
	}
	for i := range want {
		if r.Buckets[i] != want[i] {
			t.Errorf("bucket %d: %+v, want %+v", i, r.Buckets[i], want[i])
		}
	}
	// Totals add seconds before rounding: 149 s is 2 minutes, not 1 + 1.
	wantTotal := Bucket{Start: "2026-03-09", End: "2026-03-11", Meetings: 3, Participants: 7, ParticipantMinutes: 2, MeetingMinutes: 2, PeakParticipants: 4}
	if r.Totals != wantTotal {
		t.Errorf("totals %+v, want %+v", r.Totals, wantTotal)
	}
}

func TestBuildReportByWeek(t *testing.T) {
	// Wednesday 2026-03-04 to Tuesday 2026-03-17: a cut week, a whole one,
	// and another cut one.
	rg := Range{From: date("2026-03-04"), To: date("2026-03-17"), By: ByWeek}
	r := BuildReport(rg, []Day{
		{Date: "2026-03-08", Meetings: 1, PeakParticipants: 3, ParticipantSeconds: 600}, // Sunday: first week
		{Date: "2026-03-09", Meetings: 2, PeakParticipants: 1},                          // Monday: second week
		{Date: "2026-03-15", Meetings: 3, PeakParticipants: 5, ParticipantSeconds: 600}, // Sunday: second week
		{Date: "2026-03-16", Meetings: 4},                                               // Monday: third week
	})
	want := []Bucket{
		{Start: "2026-03-04", End: "2026-03-08", Meetings: 1, PeakParticipants: 3, ParticipantMinutes: 10},
		{Start: "2026-03-09", End: "2026-03-15", Meetings: 5, PeakParticipants: 5, ParticipantMinutes: 10},
		{Start: "2026-03-16", End: "2026-03-17", Meetings: 4},
	}
	if len(r.Buckets) != len(want) {
		t.Fatalf("buckets %+v", r.Buckets)
	}
	for i := range want {
		if r.Buckets[i] != want[i] {
			t.Errorf("week %d: %+v, want %+v", i, r.Buckets[i], want[i])
		}
	}
	if r.Totals.Meetings != 10 || r.Totals.PeakParticipants != 5 || r.Totals.ParticipantMinutes != 20 {
		t.Errorf("totals %+v", r.Totals)
	}
	// The default 12 weeks make 12 buckets.
	rg, _ = ParseRange("", "2026-03-11", "week", time.Now())
	if n := len(BuildReport(rg, nil).Buckets); n != 12 {
		t.Errorf("12 weeks made %d buckets", n)
	}
}
