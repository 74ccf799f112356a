package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// usageTotals is the totals of GET /api/admin/usage.
type usageTotals struct {
	Meetings, Participants, ParticipantMinutes, MeetingMinutes, PeakParticipants int64
}

// TestUsageCountsAMeeting: Go participants join and leave a meeting, and
// the administrators' usage figures show it while it runs and after it
// ended, before and after they are saved, without counting anything
// twice; a second run of the same meeting is a second meeting; a refused
// join counts nothing; a member may not read them; and the answer names
// no meeting and no person.
func TestUsageCountsAMeeting(t *testing.T) {
	srv := startServer(t, nil)
	admin := srv.Admin(t)
	id := srv.newMeeting(t)
	// Today's figures, with the days either side should the test cross
	// midnight (UTC).
	now := time.Now().UTC()
	q := "/api/admin/usage?by=day&from=" + now.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + now.AddDate(0, 0, 1).Format("2006-01-02")
	totals := func(what string) usageTotals {
		t.Helper()
		var raw json.RawMessage
		if code := admin.Do(t, "GET", q, nil, &raw); code != http.StatusOK {
			t.Fatalf("%s: usage %d %s", what, code, raw)
		}
		for _, secret := range []string{id, "Ada", "Bob", "Cy"} {
			if strings.Contains(string(raw), secret) {
				t.Fatalf("%s: the usage figures name %q: %s", what, secret, raw)
			}
		}
		var body struct{ Totals usageTotals }
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		return body.Totals
	}
	if got := totals("a fresh server"); got != (usageTotals{}) {
		t.Fatalf("a fresh server's usage: %+v", got)
	}

	_, err := srv.joinAs(t, client.Options{Meeting: "zzzz-zzzz-zzzz-zzzz", Name: "Mallory"})
	refusedWith(t, err, "meeting_not_found")
	ada := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Ada"})
	bob := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Bob"})
	waitFor(t, ada, "Bob in the roster", func() bool { return participant(ada, bob.Self().ID).ID != "" })
	if got := totals("during the meeting"); got.Meetings != 1 || got.Participants != 2 || got.PeakParticipants != 2 {
		t.Fatalf("during the meeting: %+v, want 1 meeting, 2 participants, a peak of 2", got)
	}

	bob.Leave()
	ada.Leave() // the last one out: the meeting ends
	after := totals("after the meeting")
	if after.Meetings != 1 || after.Participants != 2 || after.PeakParticipants != 2 {
		t.Fatalf("after the meeting: %+v", after)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.FlushUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if got := totals("once saved"); got != after {
		t.Fatalf("once saved: %+v, before: %+v", got, after)
	}

	cy := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Cy"})
	got := totals("a second run")
	if got.Meetings != 2 || got.Participants != 3 || got.PeakParticipants != 2 {
		t.Fatalf("a second run of the meeting: %+v, want 2 meetings, 3 participants, the peak still 2", got)
	}
	cy.Leave()

	member := srv.NewAccount(t, "bob@example.org", "Bob")
	if code := member.Do(t, "GET", q, nil, nil); code != http.StatusForbidden {
		t.Fatalf("a member read the usage figures: %d", code)
	}
}

// TestUsageAcrossARestart: a meeting that goes on across a restart of the
// server (its people resume as the same participants) is one meeting of
// two people in the usage figures, not two of four as before; what the
// first run counted was saved when it stopped.
func TestUsageAcrossARestart(t *testing.T) {
	p := servertest.StartProcess(t, servertest.Binary(t), "--config", drainConfig(t, time.Second))
	srv := &testServer{p.Server}
	admin := p.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())
	ada := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Ada"})
	bob := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob"})
	waitFor(t, ada, "Bob in the roster", func() bool { return participant(ada, bob.Self().ID).ID != "" })
	tokens := map[string]string{"Ada": ada.ResumeToken(), "Bob": bob.ResumeToken()}

	p.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("exit: %v", err)
	}
	p.Start()
	for name, tok := range tokens {
		if c := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: name, Resume: tok}); !c.Resumed() {
			t.Fatalf("%s did not resume", name)
		}
	}
	now := time.Now().UTC()
	q := "/api/admin/usage?by=day&from=" + now.AddDate(0, 0, -1).Format("2006-01-02") + "&to=" + now.AddDate(0, 0, 1).Format("2006-01-02")
	var body struct{ Totals usageTotals }
	if code := admin.Do(t, "GET", q, nil, &body); code != http.StatusOK {
		t.Fatalf("usage: %d", code)
	}
	if got := body.Totals; got.Meetings != 1 || got.Participants != 2 {
		t.Fatalf("after the restart the figures are %+v, want 1 meeting of 2 participants", got)
	}
}
