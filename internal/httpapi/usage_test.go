package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/usage"
)

// TestUsageOverHTTP: administrators only; the figures stored and those
// still in memory together, by day and by week with every bucket present;
// ranges that are not dates, backwards or longer than a year refused.
func TestUsageOverHTTP(t *testing.T) {
	env := newTestEnv(t)
	now := time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)
	rec := usage.NewRecorder(usage.Options{Store: env.db, FlushEvery: -1, Now: func() time.Time { return now }})
	t.Cleanup(func() { rec.Close(context.Background()) })
	signal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(New(Options{Meetings: env.db, Accounts: env.accounts, Signal: signal, Web: testWeb, Logger: env.log, Usage: rec}))
	t.Cleanup(srv.Close)

	// Stored: Monday 2026-03-02 and Sunday 2026-03-08. In memory: a
	// meeting of two running for 3 minutes today (Wednesday 2026-03-11).
	if err := env.db.AddUsage(context.Background(), []usage.Day{
		{Date: "2026-03-02", Meetings: 2, Participants: 6, ParticipantSeconds: 3600, MeetingSeconds: 1800, PeakParticipants: 4},
		{Date: "2026-03-08", Meetings: 1, Participants: 2, ParticipantSeconds: 600, MeetingSeconds: 300, PeakParticipants: 2},
	}); err != nil {
		t.Fatal(err)
	}
	rec.Admitted("abc-defg-hij", 0, "p1")
	rec.Admitted("abc-defg-hij", 0, "p2")
	now = now.Add(3 * time.Minute)

	admin, member, nobody := newBrowser(t, srv), newBrowser(t, srv), newBrowser(t, srv)
	signUp(t, admin, "ada@example.org", "Ada")
	if code, body := admin.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusCreated {
		t.Fatalf("create member = %d %v", code, body)
	}
	member.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password})
	const q = "/api/admin/usage?from=2026-03-02&to=2026-03-11&by=day"
	if code, _ := nobody.call("GET", q, nil); code != http.StatusUnauthorized {
		t.Errorf("signed out: %d, want 401", code)
	}
	if code, body := member.call("GET", q, nil); code != http.StatusForbidden {
		t.Errorf("a member: %d %v, want 403", code, body)
	}

	code, body := admin.call("GET", q, nil)
	if code != http.StatusOK {
		t.Fatalf("by day: %d %v", code, body)
	}
	buckets, _ := body["buckets"].([]any)
	if len(buckets) != 10 || body["by"] != "day" || body["from"] != "2026-03-02" || body["to"] != "2026-03-11" {
		t.Fatalf("by day: %d buckets, %v", len(buckets), body)
	}
	check := func(what string, v any, want map[string]float64) {
		t.Helper()
		m, _ := v.(map[string]any)
		for k, w := range want {
			if m[k] != w {
				t.Errorf("%s: %s = %v, want %v (%v)", what, k, m[k], w, m)
			}
		}
	}
	check("2026-03-02", buckets[0], map[string]float64{"meetings": 2, "participants": 6, "participantMinutes": 60, "meetingMinutes": 30, "peakParticipants": 4})
	check("2026-03-03", buckets[1], map[string]float64{"meetings": 0, "participants": 0, "participantMinutes": 0, "peakParticipants": 0})
	check("today, in memory", buckets[9], map[string]float64{"meetings": 1, "participants": 2, "participantMinutes": 6, "meetingMinutes": 3, "peakParticipants": 2})
	check("totals", body["totals"], map[string]float64{"meetings": 4, "participants": 10, "participantMinutes": 76, "meetingMinutes": 38, "peakParticipants": 4})

	code, body = admin.call("GET", "/api/admin/usage?from=2026-03-02&to=2026-03-11&by=week", nil)
	buckets, _ = body["buckets"].([]any)
	if code != http.StatusOK || len(buckets) != 2 {
		t.Fatalf("by week: %d %v", code, body)
	}
	check("first week", buckets[0], map[string]float64{"meetings": 3, "participants": 8, "participantMinutes": 70, "peakParticipants": 4})
	check("second week", buckets[1], map[string]float64{"meetings": 1, "participants": 2, "participantMinutes": 6, "peakParticipants": 2})
	if b, _ := buckets[1].(map[string]any); b["start"] != "2026-03-09" || b["end"] != "2026-03-11" {
		t.Errorf("second week runs %v to %v, want the range's cut 2026-03-09 to 2026-03-11", b["start"], b["end"])
	}

	for _, bad := range []string{
		"from=2026-03-11&to=2026-03-02",         // backwards
		"from=2025-01-01&to=2026-03-11",         // more than 366 days
		"from=yesterday&to=2026-03-11",          // not a date
		"from=2026-03-01&to=2026-03-11&by=hour", // no such grouping
		"to=2026-13-01",                         // no such month
	} {
		if code, body := admin.call("GET", "/api/admin/usage?"+bad, nil); code != http.StatusBadRequest || errCode(body) != "bad_range" {
			t.Errorf("%s: %d %v, want 400 bad_range", bad, code, body)
		}
	}
	// Without a range: the last 30 days up to today.
	code, body = admin.call("GET", "/api/admin/usage", nil)
	if buckets, _ := body["buckets"].([]any); code != http.StatusOK || len(buckets) != 30 {
		t.Errorf("default range: %d, %d buckets, want 30", code, len(buckets))
	}
}
