package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestSuspendedAccountLeavesItsMeeting: an admin suspends a member who is
// hosting a live meeting, with a reason: the member's socket is closed at
// once with account_suspended and the reason, their sessions end, the
// others see them go, a sign-in with the right password is refused naming
// the reason, and the member's own account shows nothing until
// reinstated, when it lists the suspension with its reason. An admin
// cannot act on their own account; a member cannot act at all.
func TestSuspendedAccountLeavesItsMeeting(t *testing.T) {
	srv, _, admin := defended(t, nil)
	bob := srv.NewAccount(t, "bob@example.org", "Bob")
	m := bob.NewMeeting(t, nil)
	set := m.Settings
	set.E2EE, set.WaitingRoom, set.Passcode = false, false, false
	if code := bob.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil); code != http.StatusOK {
		t.Fatalf("settings: %d", code)
	}
	b := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob", Cookie: bob.Cookie()})
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus"})
	waitFor(t, gus, "Bob in the roster", func() bool { return participant(gus, b.Self().ID).ID != "" })

	if code := bob.Do(t, "POST", "/api/admin/users/"+admin.ID+"/suspend", map[string]string{"reason": "coup"}, nil); code != http.StatusForbidden {
		t.Fatalf("a member suspended the admin: %d", code)
	}
	if code := admin.Do(t, "POST", "/api/admin/users/"+admin.ID+"/suspend", map[string]string{"reason": "me"}, nil); code != http.StatusForbidden {
		t.Fatalf("the admin suspended themselves: %d", code)
	}
	if code := admin.Do(t, "POST", "/api/admin/users/"+bob.ID+"/suspend", map[string]string{"reason": ""}, nil); code != http.StatusBadRequest {
		t.Fatalf("a suspension without a reason: %d", code)
	}
	if code := admin.Do(t, "POST", "/api/admin/users/"+bob.ID+"/suspend", map[string]string{"reason": "Security review"}, nil); code != http.StatusOK {
		t.Fatalf("suspend: %d", code)
	}
	select {
	case <-b.Done():
	case <-waitCtx(t).Done():
		t.Fatal("the suspended host's socket stayed open")
	}
	if r, msg := b.ClosedReason(), b.ClosedMessage(); r != "account_suspended" || !strings.Contains(msg, "Security review") {
		t.Fatalf("closed with %q: %q", r, msg)
	}
	waitFor(t, gus, "Bob gone", func() bool { return participant(gus, b.Self().ID).ID == "" })
	if code := bob.Do(t, "GET", "/api/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("the suspended account's session: %d", code)
	}
	var refused struct {
		Error struct{ Code, Message string }
	}
	if code := bob.Do(t, "POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": bob.Pass}, &refused); code != http.StatusForbidden ||
		refused.Error.Code != "account_suspended" || !strings.Contains(refused.Error.Message, "Security review") {
		t.Fatalf("sign-in while suspended: %d %+v", code, refused)
	}
	if code := admin.Do(t, "POST", "/api/admin/users/"+bob.ID+"/reinstate", map[string]string{}, nil); code != http.StatusOK {
		t.Fatalf("reinstate: %d", code)
	}
	if code := bob.Do(t, "POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": bob.Pass}, nil); code != http.StatusOK {
		t.Fatalf("sign-in after reinstating: %d", code)
	}
	var mine struct {
		Entries []struct{ Action, Reason, ActorID string }
	}
	bob.Do(t, "GET", "/api/me/audit", nil, &mine)
	if len(mine.Entries) != 3 || mine.Entries[1].Action != "user.suspended" || mine.Entries[1].Reason != "Security review" || mine.Entries[1].ActorID != "" {
		t.Fatalf("Bob's account page entries: %+v", mine.Entries)
	}
}

// TestAdminEndsAMeeting: an administrator sees a member's live meeting
// (counts only) and ends it with a reason: everyone in it, the waiting
// room included, is closed with `ended` and the reason; the owner's
// account page lists it; it is in the audit log with the counts. A member
// may not see or end live meetings; a reason is required; a meeting
// nobody is in cannot be "ended".
func TestAdminEndsAMeeting(t *testing.T) {
	srv, _, admin := defended(t, nil)
	bob := srv.NewAccount(t, "bob@example.org", "Bob")
	m := bob.NewMeeting(t, nil)
	set := m.Settings
	set.E2EE, set.Passcode = false, false
	if code := bob.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil); code != http.StatusOK {
		t.Fatalf("settings: %d", code)
	}
	b := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob", Cookie: bob.Cookie()})
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus"})
	if gus.Waiting() != "waiting_room" {
		t.Fatalf("Gus: %q", gus.Waiting())
	}

	var live struct {
		Meetings []struct {
			ID, Title, OwnerID    string
			Participants, Waiting int
		}
	}
	if code := admin.Do(t, "GET", "/api/admin/meetings/live", nil, &live); code != http.StatusOK || len(live.Meetings) != 1 {
		t.Fatalf("live meetings: %d %+v", code, live)
	}
	if lm := live.Meetings[0]; lm.ID != m.ID || lm.OwnerID != bob.ID || lm.Participants != 1 || lm.Waiting != 1 {
		t.Fatalf("live meeting %+v", lm)
	}
	if code := bob.Do(t, "GET", "/api/admin/meetings/live", nil, nil); code != http.StatusForbidden {
		t.Fatalf("a member listed live meetings: %d", code)
	}
	if code := bob.Do(t, "POST", "/api/admin/meetings/"+m.ID+"/end", map[string]string{"reason": "x"}, nil); code != http.StatusForbidden {
		t.Fatalf("a member ended a meeting as admin: %d", code)
	}
	if code := admin.Do(t, "POST", "/api/admin/meetings/"+m.ID+"/end", map[string]string{"reason": " "}, nil); code != http.StatusBadRequest {
		t.Fatalf("an end without a reason: %d", code)
	}
	other := bob.NewMeeting(t, nil)
	if code := admin.Do(t, "POST", "/api/admin/meetings/"+other.ID+"/end", map[string]string{"reason": "x"}, nil); code != http.StatusNotFound {
		t.Fatalf("ending a meeting nobody is in: %d", code)
	}
	if code := admin.Do(t, "POST", "/api/admin/meetings/"+m.ID+"/end", map[string]string{"reason": "Court order 12/2026"}, nil); code != http.StatusNoContent {
		t.Fatalf("end: %d", code)
	}
	for _, c := range []*client.Client{b, gus} {
		select {
		case <-c.Done():
		case <-waitCtx(t).Done():
			t.Fatal("a socket stayed open after the meeting was ended")
		}
		if r, msg := c.ClosedReason(), c.ClosedMessage(); r != "ended" || !strings.Contains(msg, "An administrator ended this meeting: Court order 12/2026") {
			t.Fatalf("closed with %q: %q", r, msg)
		}
	}
	var mine struct {
		Entries []struct {
			Action, Reason, SubjectID string
			Details                   map[string]string
		}
	}
	bob.Do(t, "GET", "/api/me/audit", nil, &mine)
	if len(mine.Entries) == 0 || mine.Entries[0].Action != "meeting.ended" || mine.Entries[0].Reason != "Court order 12/2026" ||
		mine.Entries[0].SubjectID != m.ID || mine.Entries[0].Details["participants"] != "1" {
		t.Fatalf("Bob's account page entries: %+v", mine.Entries)
	}
	if code := admin.Do(t, "GET", "/api/admin/meetings/live", nil, &live); code != http.StatusOK || len(live.Meetings) != 0 {
		t.Fatalf("live meetings after the end: %+v", live)
	}
}

// TestDeletedOwnersMeetingEnds: an administrator deletes an account while
// its meeting is in progress: the owner's socket closes with
// account_deleted and the admin's reason, and the meeting ends for the
// guest in it too (closed ended, saying why), since the meeting is gone
// with its owner; a meeting the account was only a guest in goes on.
func TestDeletedOwnersMeetingEnds(t *testing.T) {
	srv, _, admin := defended(t, nil)
	bob := srv.NewAccount(t, "bob@example.org", "Bob")
	open := func(a *servertest.Account) string {
		m := a.NewMeeting(t, nil)
		set := m.Settings
		set.E2EE, set.WaitingRoom, set.Passcode, set.JoinBeforeHost = false, false, false, true
		if code := a.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil); code != http.StatusOK {
			t.Fatalf("settings: %d", code)
		}
		return m.ID
	}
	bobs, admins := open(bob), open(admin)
	b := srv.mustJoinAs(t, client.Options{Meeting: bobs, Name: "Bob", Cookie: bob.Cookie()})
	gus := srv.mustJoinAs(t, client.Options{Meeting: bobs, Name: "Gus"})
	waitFor(t, gus, "Bob in the roster", func() bool { return participant(gus, b.Self().ID).ID != "" })
	bobAsGuest := srv.mustJoinAs(t, client.Options{Meeting: admins, Name: "Bob", Cookie: bob.Cookie()})
	ann := srv.mustJoinAs(t, client.Options{Meeting: admins, Name: "Ann"})
	waitFor(t, ann, "Bob in the admin's meeting", func() bool { return participant(ann, bobAsGuest.Self().ID).ID != "" })

	if code := admin.Do(t, "POST", "/api/admin/users/"+bob.ID+"/delete", map[string]string{"reason": "Left the company"}, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	for _, c := range []struct {
		who    *client.Client
		name   string
		reason string
		says   string
	}{{b, "Bob", "account_deleted", "Left the company"}, {gus, "Gus", "ended", "account that owned it was deleted"}, {bobAsGuest, "Bob as a guest", "account_deleted", "Left the company"}} {
		select {
		case <-c.who.Done():
		case <-waitCtx(t).Done():
			t.Fatalf("%s's socket stayed open", c.name)
		}
		if r, msg := c.who.ClosedReason(), c.who.ClosedMessage(); r != c.reason || !strings.Contains(msg, c.says) {
			t.Fatalf("%s: closed with %q: %q; want %s saying %q", c.name, r, msg, c.reason, c.says)
		}
	}
	// The admin's own meeting goes on for Ann.
	waitFor(t, ann, "Bob gone from the admin's meeting", func() bool { return participant(ann, bobAsGuest.Self().ID).ID == "" })
	ann.Control("ping", nil)
	select {
	case <-ann.Done():
		t.Fatalf("Ann's meeting ended too: %s", ann.ClosedReason())
	default:
	}
}
