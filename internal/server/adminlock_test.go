package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// noticeOf waits until c has heard n administrators' notices and returns
// the last.
func noticeOf(t *testing.T, c *client.Client, n int) client.AdminNotice {
	t.Helper()
	waitFor(t, c, "an administrator's notice", func() bool { return len(c.AdminNotices()) >= n })
	all := c.AdminNotices()
	if len(all) != n {
		t.Fatalf("%d notices, want %d: %+v", len(all), n, all)
	}
	return all[n-1]
}

// TestAdminLocksAMeeting: an administrator locks a member's live meeting
// with a reason: everyone in it, a breakout room included, is told the
// reason, the main room's clients get the locked settings, a newcomer is
// refused meeting_locked while the owner still gets in; the entry is in
// the audit log, which verifies, and on the owner's account page. Unlock
// works the same. Members may not lock; a reason is required. A meeting
// nobody is in is locked where it is stored and is still locked when
// people come, until its host unlocks it from inside (the host's right in
// their own meeting), which lifts the stored lock too.
func TestAdminLocksAMeeting(t *testing.T) {
	srv, _, admin := defended(t, nil)
	bob := srv.NewAccount(t, "bob@example.org", "Bob")
	m := bob.NewMeeting(t, servertest.OpenSettings())
	lockURL := "/api/admin/meetings/" + m.ID + "/lock"
	b := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob", Cookie: bob.Cookie()})
	ann := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Ann"})
	cid := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Cid"})
	waitFor(t, b, "Ann and Cid in", func() bool { return len(b.Roster()) == 3 })
	b.Control("breakout_open", map[string]any{"seconds": 0, "rooms": []map[string]any{{"name": "Red", "participants": []string{ann.Self().ID}}}})
	ann = enterMove(t, srv, ann, client.Options{Meeting: m.ID, Name: "Ann"})

	if code := bob.Do(t, "POST", lockURL, map[string]any{"locked": true, "reason": "x"}, nil); code != http.StatusForbidden {
		t.Fatalf("a member locked a meeting as admin: %d", code)
	}
	for _, body := range []map[string]any{
		{"locked": true, "reason": " "},
		{"locked": true, "reason": "Abuse\u202e report"},
		{"locked": true, "reason": strings.Repeat("a", 501)},
		{"reason": "Abuse report 7"},
	} {
		if code := admin.Do(t, "POST", lockURL, body, nil); code != http.StatusBadRequest {
			t.Fatalf("lock with %q: %d", body, code)
		}
	}
	if code := admin.Do(t, "POST", "/api/admin/meetings/"+strings.Repeat("a", 12)+"/lock", map[string]any{"locked": true, "reason": "x"}, nil); code != http.StatusNotFound {
		t.Fatalf("locking a meeting that does not exist: %d", code)
	}
	if len(b.AdminNotices())+len(cid.AdminNotices())+len(ann.AdminNotices()) != 0 || b.Settings()["locked"] == true {
		t.Fatal("a refused request told the meeting something")
	}

	var out struct{ Locked, Live bool }
	if code := admin.Do(t, "POST", lockURL, map[string]any{"locked": true, "reason": "Abuse report 7"}, &out); code != http.StatusOK || !out.Locked || !out.Live {
		t.Fatalf("lock: %d %+v", code, out)
	}
	for _, c := range []*client.Client{b, cid, ann} {
		n := noticeOf(t, c, 1)
		if n.Action != "locked" || n.Reason != "Abuse report 7" || !strings.Contains(n.Message, "An administrator locked this meeting") || !strings.HasSuffix(n.Message, ": Abuse report 7") {
			t.Fatalf("%s was told %+v", c.Self().Name, n)
		}
	}
	for _, c := range []*client.Client{b, cid} {
		waitFor(t, c, "locked settings", func() bool { return c.Settings()["locked"] == true })
	}
	_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Late"})
	refusedWith(t, err, "meeting_locked")
	if b2 := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob again", Cookie: bob.Cookie()}); b2.Waiting() != "" {
		t.Fatal("the owner was kept out of their meeting an administrator locked")
	}
	var live struct {
		Meetings []struct {
			ID     string
			Locked bool
		}
	}
	if code := admin.Do(t, "GET", "/api/admin/meetings/live", nil, &live); code != http.StatusOK || len(live.Meetings) != 1 || !live.Meetings[0].Locked {
		t.Fatalf("live meetings: %d %+v", code, live)
	}

	type entry struct {
		Action, Reason, SubjectID, ActorID string
		Details                            map[string]string
	}
	var log struct {
		Verified bool
		Entries  []entry
	}
	if code := admin.Do(t, "GET", "/api/admin/audit", nil, &log); code != http.StatusOK || !log.Verified || len(log.Entries) == 0 {
		t.Fatalf("audit log: %d %+v", code, log)
	}
	if e := log.Entries[0]; e.Action != "meeting.locked" || e.Reason != "Abuse report 7" || e.SubjectID != m.ID || e.ActorID != admin.ID ||
		e.Details["live"] != "true" || e.Details["participants"] != "3" {
		t.Fatalf("the newest audit entry: %+v", e)
	}
	var mine struct{ Entries []entry }
	bob.Do(t, "GET", "/api/me/audit", nil, &mine)
	if len(mine.Entries) == 0 || mine.Entries[0].Action != "meeting.locked" || mine.Entries[0].Reason != "Abuse report 7" || mine.Entries[0].SubjectID != m.ID {
		t.Fatalf("Bob's account page entries: %+v", mine.Entries)
	}

	// Unlocked the same way: told, the settings change, newcomers get in.
	if code := admin.Do(t, "POST", lockURL, map[string]any{"locked": false, "reason": "Report withdrawn"}, &out); code != http.StatusOK || out.Locked || !out.Live {
		t.Fatalf("unlock: %d %+v", code, out)
	}
	for _, c := range []*client.Client{b, cid, ann} {
		if n := noticeOf(t, c, 2); n.Action != "unlocked" || !strings.Contains(n.Message, "An administrator unlocked this meeting") || n.Reason != "Report withdrawn" {
			t.Fatalf("%s was told %+v", c.Self().Name, n)
		}
	}
	waitFor(t, cid, "unlocked settings", func() bool { return cid.Settings()["locked"] == false })
	srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Late"}).Leave()
	bob.Do(t, "GET", "/api/me/audit", nil, &mine)
	if len(mine.Entries) < 2 || mine.Entries[0].Action != "meeting.unlocked" || mine.Entries[0].Reason != "Report withdrawn" {
		t.Fatalf("Bob's account page entries after the unlock: %+v", mine.Entries)
	}

	// Nobody in it: the stored meeting is locked and stays so when
	// people come; the owner gets in and unlocks it, which lifts it.
	endAsHost(t, b)
	if code := admin.Do(t, "POST", lockURL, map[string]any{"locked": true, "reason": "Abuse report 8"}, &out); code != http.StatusOK || !out.Locked || out.Live {
		t.Fatalf("lock when nobody is in it: %d %+v", code, out)
	}
	_, err = srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Late"})
	refusedWith(t, err, "meeting_locked")
	b = srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob", Cookie: bob.Cookie()})
	if b.Settings()["locked"] != true {
		t.Fatalf("the owner's settings: %v", b.Settings())
	}
	b.Control("lock", map[string]any{"locked": false})
	waitFor(t, b, "unlocked by the host", func() bool { return b.Settings()["locked"] == false })
	srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Late"}).Leave()
	endAsHost(t, b)
	if c := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Later"}); c.Settings()["locked"] != false {
		t.Fatalf("the next session's settings: %v", c.Settings())
	}
	if code := admin.Do(t, "GET", "/api/admin/audit", nil, &log); code != http.StatusOK || !log.Verified || log.Entries[0].Details["live"] != "false" {
		t.Fatalf("audit log at the end: %d %+v", code, log)
	}
}

// endAsHost ends the meeting from c, its host, and waits until c's
// socket is closed: by then the room is closed (everyone is told under
// its lock, which it holds until it is closed), though the hub may not
// have forgotten it yet.
func endAsHost(t *testing.T, c *client.Client) {
	t.Helper()
	if err := c.Control("end", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-waitCtx(t).Done():
		t.Fatal("the host's socket stayed open after ending the meeting")
	}
}
