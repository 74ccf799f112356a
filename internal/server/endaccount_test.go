package server_test

import (
	"net/http"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// endAccount is one way an account's participation ends: an admin's
// suspension, or the account signing out everywhere.
type endAccount func(t *testing.T, admin, acct *servertest.Account)

func suspend(t *testing.T, admin, acct *servertest.Account) {
	t.Helper()
	if code := admin.Do(t, "POST", "/api/admin/users/"+acct.ID+"/suspend", map[string]string{"reason": "Security review"}, nil); code != http.StatusOK {
		t.Fatalf("suspend %s: %d", acct, code)
	}
}

func signOutEverywhere(t *testing.T, _, acct *servertest.Account) {
	t.Helper()
	if code := acct.Do(t, "POST", "/api/auth/signout-everywhere", nil, nil); code != http.StatusNoContent {
		t.Fatalf("%s signs out everywhere: %d", acct, code)
	}
}

// TestSuspendReachesBreakoutRooms: the host and a member sit in a breakout
// room, another member has a move pending; an admin suspends the three
// accounts. Both in the room are closed with account_suspended, the room
// no longer holds them (the meeting goes on for the guest in the main
// room), the host's resume token in the room does not bring the host
// back, and the pending move does not work even on a socket opened with
// the member's cookie before the suspension.
func TestSuspendReachesBreakoutRooms(t *testing.T) {
	accountEndReachesBreakoutRooms(t, suspend, "account_suspended")
}

// TestSignOutEverywhereReachesBreakoutRooms is
// TestSuspendReachesBreakoutRooms with each account signing out
// everywhere (signed_out).
func TestSignOutEverywhereReachesBreakoutRooms(t *testing.T) {
	accountEndReachesBreakoutRooms(t, signOutEverywhere, "signed_out")
}

func accountEndReachesBreakoutRooms(t *testing.T, end endAccount, reason string) {
	srv, _, admin := defended(t, nil)
	bob := srv.NewAccount(t, "bob@example.org", "Bob")
	carl := srv.NewAccount(t, "carl@example.org", "Carl")
	dee := srv.NewAccount(t, "dee@example.org", "Dee")
	m := bob.NewMeeting(t, nil)
	set := m.Settings
	set.E2EE, set.WaitingRoom, set.Passcode = false, false, false
	if code := bob.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil); code != http.StatusOK {
		t.Fatalf("settings: %d", code)
	}
	bobCookie, carlCookie, deeCookie := bob.Cookie(), carl.Cookie(), dee.Cookie()
	b := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob", Cookie: bobCookie})
	c := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Carl", Cookie: carlCookie})
	d := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Dee", Cookie: deeCookie})
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus"})
	if b.Self().Role != "host" || c.Self().Role != "participant" {
		t.Fatalf("Bob is %q, Carl %q", b.Self().Role, c.Self().Role)
	}
	waitFor(t, b, "everyone in", func() bool { return len(b.Roster()) == 4 })
	b.Control("breakout_open", map[string]any{"seconds": 0, "rooms": []map[string]any{
		{"name": "Red", "participants": []string{b.Self().ID, c.Self().ID}},
		{"name": "Blue", "participants": []string{d.Self().ID}},
	}})
	bIn := enterMove(t, srv, b, client.Options{Meeting: m.ID, Name: "Bob", Cookie: bobCookie})
	cIn := enterMove(t, srv, c, client.Options{Meeting: m.ID, Name: "Carl", Cookie: carlCookie})
	deeMove := nextMove(t, d, 0) // Dee stays in the main room for now
	if bIn.Room() != 1 || cIn.Room() != 1 || deeMove.Room != 2 {
		t.Fatalf("rooms: Bob %d, Carl %d, Dee sent to %d", bIn.Room(), cIn.Room(), deeMove.Room)
	}
	if bIn.Self().Role != "host" {
		t.Fatalf("Bob is %q in the breakout room", bIn.Self().Role)
	}
	bobToken := bIn.ResumeToken()

	end(t, admin, bob)
	end(t, admin, carl)
	for _, x := range []struct {
		name string
		c    *client.Client
	}{{"Bob (host)", bIn}, {"Carl", cIn}} {
		select {
		case <-x.c.Done():
		case <-waitCtx(t).Done():
			t.Fatalf("%s's socket in the breakout room stayed open after the account's end", x.name)
		}
		if r := x.c.ClosedReason(); r != reason {
			t.Fatalf("%s closed with %q, want %q", x.name, r, reason)
		}
	}
	// The room holds neither any more; the meeting goes on for the others.
	var live struct {
		Meetings []struct {
			ID                          string
			Participants, BreakoutRooms int
		}
	}
	if code := admin.Do(t, "GET", "/api/admin/meetings/live", nil, &live); code != http.StatusOK || len(live.Meetings) != 1 {
		t.Fatalf("live meetings: %d %+v", code, live)
	}
	if lm := live.Meetings[0]; lm.ID != m.ID || lm.Participants != 2 || lm.BreakoutRooms != 2 {
		t.Fatalf("live meeting %+v: want Gus and Dee in the main room, the two rooms open", lm)
	}
	// The host's resume token from the room (with the dead cookie or none)
	// does not bring the host back: a fresh guest waits for a host.
	for _, cookie := range []string{bobCookie, ""} {
		back := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob?", Resume: bobToken, Cookie: cookie})
		if back.Resumed() || back.Waiting() != "host_absent" {
			t.Fatalf("Bob's token (cookie %v) resumed %v as %+v, waiting %q; want a guest waiting for a host", cookie != "", back.Resumed(), back.Self(), back.Waiting())
		}
		back.Leave()
	}

	// Dee opens a socket for her move with her live cookie; her account
	// ends before her hello: the move is gone and she is not Dee any more.
	_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Dee", Cookie: deeCookie, Token: deeMove.Token, Breakout: deeMove.Room,
		BeforeHello: func() { end(t, admin, dee) }})
	refusedWith(t, err, "bad_token")
	select {
	case <-d.Done():
	case <-waitCtx(t).Done():
		t.Fatal("Dee's socket in the main room stayed open after the account's end")
	}
	if r := d.ClosedReason(); r != reason {
		t.Fatalf("Dee closed with %q, want %q", r, reason)
	}
	select {
	case <-gus.Done():
		t.Fatalf("the meeting ended for Gus: %q %q", gus.ClosedReason(), gus.ClosedMessage())
	default:
	}
	if code := admin.Do(t, "GET", "/api/admin/meetings/live", nil, &live); code != http.StatusOK || len(live.Meetings) != 1 || live.Meetings[0].Participants != 1 {
		t.Fatalf("live meetings after Dee's end: %d %+v", code, live)
	}
}

// TestSuspendBetweenSocketAndHello: a socket opened with a member's
// session cookie says hello only after the account was suspended (or
// signed out everywhere). It joins as what it is by then, a guest: a
// meeting for signed-in people refuses it with sign_in_required, and in
// the account's own open meeting it is a signed-out participant, not the
// host.
func TestSuspendBetweenSocketAndHello(t *testing.T) {
	srv, _, admin := defended(t, nil)
	bob := srv.NewAccount(t, "bob@example.org", "Bob")
	m := bob.NewMeeting(t, nil)
	set := m.Settings
	set.E2EE, set.WaitingRoom, set.Passcode, set.RequireSignIn = false, false, false, true
	if code := bob.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil); code != http.StatusOK {
		t.Fatalf("settings: %d", code)
	}
	cookie := bob.Cookie()
	// Before the suspension, the same socket would be the host.
	b := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob", Cookie: cookie})
	if b.Self().Role != "host" || !b.Self().SignedIn {
		t.Fatalf("Bob joined as %+v", b.Self())
	}
	b.Leave()
	_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Bob", Cookie: cookie, BeforeHello: func() { suspend(t, admin, bob) }})
	refusedWith(t, err, "sign_in_required")

	carl := srv.NewAccount(t, "carl@example.org", "Carl")
	m2 := carl.NewMeeting(t, nil)
	set = m2.Settings
	set.E2EE, set.WaitingRoom, set.Passcode, set.JoinBeforeHost = false, false, false, true
	if code := carl.Do(t, "PATCH", "/api/meetings/"+m2.ID, map[string]any{"settings": set}, nil); code != http.StatusOK {
		t.Fatalf("settings: %d", code)
	}
	c, err := srv.joinAs(t, client.Options{Meeting: m2.ID, Name: "Carl", Cookie: carl.Cookie(), BeforeHello: func() { signOutEverywhere(t, admin, carl) }})
	if err != nil {
		t.Fatalf("joining the open meeting as a guest: %v", err)
	}
	if self := c.Self(); self.Role != "participant" || self.SignedIn || c.Waiting() != "" {
		t.Fatalf("the socket opened before signing out everywhere joined as %+v (waiting %q), want a signed-out participant", self, c.Waiting())
	}
}
