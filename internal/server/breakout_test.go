package server_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/e2ee/e2eetest"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// nextMove waits for the server to send c somewhere, and returns it.
func nextMove(t *testing.T, c *client.Client, after int) client.Move {
	t.Helper()
	waitFor(t, c, "a move", func() bool { return len(c.Moves()) > after })
	return c.Moves()[after]
}

// TestBreakoutRooms: a host opens two breakout rooms for four guests of a
// meeting with a passcode and a waiting room. Each moves with its token
// (no passcode, no waiting room, the same participant ID); media stays
// within a room; a token works once; only a host may open rooms; the host
// moves someone between rooms and sees who is where; at the close everyone
// comes back to the main room with their token.
func TestBreakoutRooms(t *testing.T) {
	srv, _, host := defended(t, nil)
	set := meeting.DefaultSettings()
	set.E2EE = false
	m := host.NewMeeting(t, &set)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	names := []string{"Ann", "Bob", "Cid", "Dee"}
	var guests []*client.Client
	for _, n := range names {
		guests = append(guests, srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: n, Passcode: m.Passcode}))
	}
	waitFor(t, h, "four waiting", func() bool { return len(h.WaitingRoom()) == 4 })
	h.Control("admit", map[string]any{"all": true})
	for _, g := range guests {
		waitFor(t, g, "admitted", func() bool { return g.Waiting() == "" && g.Self().ID != "" })
	}
	ids := make([]string, 4)
	for i, g := range guests {
		ids[i] = g.Self().ID
	}

	// Only a host or co-host opens breakout rooms.
	n := len(guests[0].Errors())
	guests[0].Control("breakout_open", map[string]any{"rooms": []map[string]any{{"name": "Mine", "participants": ids[:1]}}})
	if code := lastError(t, guests[0], n); code != "forbidden" {
		t.Fatalf("a participant opening breakout rooms: %s", code)
	}

	h.Control("breakout_open", map[string]any{"seconds": 0, "rooms": []map[string]any{
		{"name": "Red", "participants": ids[:2]}, {"name": "Blue", "participants": ids[2:]},
	}})
	inRoom := make([]*client.Client, 4)
	for i, g := range guests {
		mv := nextMove(t, g, 0)
		if want := 1 + i/2; mv.Room != want || mv.Name != []string{"Red", "Blue"}[i/2] || mv.Token == "" {
			t.Fatalf("%s was sent to %+v, want room %d", names[i], mv, want)
		}
		g.Leave()
		var publish []string
		if i%2 == 0 {
			publish = []string{"camera"}
		}
		c := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: names[i], Token: mv.Token, Breakout: mv.Room, Publish: publish})
		if c.Waiting() != "" || c.Self().ID != ids[i] || c.Room() != mv.Room {
			t.Fatalf("%s entered as %+v, waiting %q, room %d", names[i], c.Self(), c.Waiting(), c.Room())
		}
		if len(publish) > 0 {
			pump(t, c.Local("camera"))
		}
		inRoom[i] = c
		if i == 0 {
			// The token worked once.
			_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Again", Token: mv.Token, Breakout: mv.Room})
			refusedWith(t, err, "bad_token")
		}
	}
	ann, bob, cid, dee := inRoom[0], inRoom[1], inRoom[2], inRoom[3]
	// Media stays in its room: Bob gets Ann's camera, Dee Cid's; neither
	// gets the other room's, nor sees its people.
	receiving(t, bob, ann, "camera", 20)
	receiving(t, dee, cid, "camera", 20)
	if bob.Track(cid.Self().ID, "camera") != nil || dee.Track(ann.Self().ID, "camera") != nil {
		t.Fatal("media crossed between breakout rooms")
	}
	if r := bob.Roster(); len(r) != 2 || slices.ContainsFunc(r, func(p client.Participant) bool { return p.ID == ids[2] || p.ID == ids[3] }) {
		t.Fatalf("Bob's room lists %+v", r)
	}
	waitFor(t, h, "who is where", func() bool {
		b := h.Breakouts()
		return b.Open && len(b.Rooms) == 2 && len(b.Rooms[0].Participants) == 2 && len(b.Rooms[1].Participants) == 2 && len(b.Main) == 1
	})

	// The host moves Bob to Blue.
	h.Control("breakout_move", map[string]any{"participant": ids[1], "room": 2})
	mv := nextMove(t, bob, 0)
	if mv.Room != 2 {
		t.Fatalf("Bob was moved to %+v, want room 2", mv)
	}
	bob.Leave()
	bob = srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bob", Token: mv.Token, Breakout: 2})
	receiving(t, bob, cid, "camera", 20)
	waitFor(t, h, "Bob in Blue", func() bool {
		b := h.Breakouts()
		return len(b.Rooms) == 2 && len(b.Rooms[0].Participants) == 1 && len(b.Rooms[1].Participants) == 3
	})

	// The close brings everyone back, past the waiting room.
	h.Control("breakout_close", map[string]any{"seconds": 0})
	for i, c := range []*client.Client{ann, bob, cid, dee} {
		mv := nextMove(t, c, 0)
		if mv.Room != 0 || mv.Token == "" {
			t.Fatalf("%s was sent to %+v, want the main room", names[i], mv)
		}
		c.Leave()
		back := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: names[i], Token: mv.Token})
		if back.Waiting() != "" || back.Self().ID != ids[i] || back.Room() != 0 {
			t.Fatalf("%s came back as %+v, waiting %q", names[i], back.Self(), back.Waiting())
		}
	}
	waitFor(t, h, "everyone back", func() bool { return len(h.Roster()) == 5 })
}

// enterMove follows c's first move: c leaves and joins where it was sent,
// with opts (its meeting, name, account, KeyPackage) and the move's token.
func enterMove(t *testing.T, srv *testServer, c *client.Client, opts client.Options) *client.Client {
	t.Helper()
	mv := nextMove(t, c, 0)
	c.Leave()
	opts.Token, opts.Breakout = mv.Token, mv.Room
	return srv.mustJoinAs(t, opts)
}

// heardFrom waits until c has heard n broadcasts and checks the last is
// text from the participant from.
func heardFrom(t *testing.T, c *client.Client, n int, from, text string) {
	t.Helper()
	waitFor(t, c, fmt.Sprintf("%d broadcasts", n), func() bool { return len(c.Broadcasts()) >= n })
	got := c.Broadcasts()
	if len(got) != n || got[n-1].From != from || got[n-1].Text != text {
		t.Fatalf("%s heard %+v, want %d broadcasts, the last %q from %s", c.Self().Name, got, n, text, from)
	}
}

// TestBreakoutBroadcast, as someone who would abuse it: only a host or
// co-host broadcasts, only while rooms are open, within its size and rate;
// then everyone in the main room and in every breakout room hears it, with
// the sender the server saw.
func TestBreakoutBroadcast(t *testing.T) {
	srv, m, host := defended(t, nil)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	names := []string{"Ann", "Bob", "Cid"}
	var guests []*client.Client
	for _, n := range names {
		guests = append(guests, srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: n, Passcode: m.Passcode}))
	}
	waitFor(t, h, "three waiting", func() bool { return len(h.WaitingRoom()) == 3 })
	h.Control("admit", map[string]any{"all": true})
	for _, g := range guests {
		waitFor(t, g, "admitted", func() bool { return g.Waiting() == "" && g.Self().ID != "" })
	}
	hostID, annID, bobID := h.Self().ID, guests[0].Self().ID, guests[1].Self().ID
	cid := guests[2]

	// No rooms open: nothing to broadcast to.
	n := len(h.Errors())
	h.Control("breakout_broadcast", map[string]any{"text": "too early"})
	if code := lastError(t, h, n); code != "bad_breakout" {
		t.Fatalf("a broadcast without rooms: %s", code)
	}

	h.Control("breakout_open", map[string]any{"seconds": 0, "rooms": []map[string]any{
		{"name": "Red", "participants": []string{annID}}, {"name": "Blue", "participants": []string{bobID}},
	}})
	ann := enterMove(t, srv, guests[0], client.Options{Meeting: m.ID, Name: "Ann"})
	bob := enterMove(t, srv, guests[1], client.Options{Meeting: m.ID, Name: "Bob"})

	// A participant, in a room or in the main room, cannot broadcast.
	for _, c := range []*client.Client{ann, cid} {
		n := len(c.Errors())
		c.Control("breakout_broadcast", map[string]any{"text": "I am the host"})
		if code := lastError(t, c, n); code != "forbidden" {
			t.Fatalf("%s broadcasting: %s", c.Self().Name, code)
		}
	}

	// The host's is heard in the main room and in both breakout rooms,
	// the host's own socket included, and nobody heard the others.
	h.Control("breakout_broadcast", map[string]any{"text": "Five minutes left"})
	for _, c := range []*client.Client{h, ann, bob, cid} {
		heardFrom(t, c, 1, hostID, "Five minutes left")
	}

	// Too long, or sealed in a meeting without end-to-end encryption.
	n = len(h.Errors())
	h.Control("breakout_broadcast", map[string]any{"text": strings.Repeat("a", 1001)})
	if code := lastError(t, h, n); code != "bad_message" {
		t.Fatalf("a 1,001-character broadcast: %s", code)
	}
	n = len(h.Errors())
	h.Control("breakout_broadcast", map[string]any{"payload": []byte("sealed?")})
	if code := lastError(t, h, n); code != "bad_breakout" {
		t.Fatalf("a sealed broadcast in a meeting without E2EE: %s", code)
	}

	// A flood: the burst is 3 (one spent), then one every 10 s; the rest
	// is refused and not relayed.
	n = len(h.Errors())
	const flood = 6
	for i := range flood {
		h.Control("breakout_broadcast", map[string]any{"text": fmt.Sprintf("flood %d", i)})
	}
	// Each is answered on the host's socket: relayed back to it, or refused.
	waitFor(t, h, "every broadcast answered", func() bool { return len(h.Errors())-n+len(h.Broadcasts())-1 == flood })
	if code := h.Errors()[len(h.Errors())-1].Code; code != "rate_limited" {
		t.Fatalf("a flood of broadcasts: %s", code)
	}
	relayed := len(h.Broadcasts())
	if relayed < 2 || relayed >= 1+flood {
		t.Fatalf("%d of a flood of %d broadcasts relayed, want the burst's 2 or so", relayed-1, flood)
	}
	waitFor(t, cid, "the flood's relayed part", func() bool { return len(cid.Broadcasts()) == relayed })

	// Once the rooms close, no more broadcasts.
	h.Control("breakout_close", map[string]any{"seconds": 0})
	waitFor(t, h, "rooms closing", func() bool { return h.Breakouts().Closing })
	n = len(h.Errors())
	h.Control("breakout_broadcast", map[string]any{"text": "after the close"})
	if code := lastError(t, h, n); code != "bad_breakout" {
		t.Fatalf("a broadcast after the close: %s", code)
	}
	if got := len(cid.Broadcasts()); got != relayed {
		t.Fatalf("Cid heard %d broadcasts, want %d", got, relayed)
	}
}

// TestBreakoutBroadcastSealed: in an end-to-end encrypted meeting a
// broadcast is a sealed payload the server relays as is, never text in
// clear, and never larger than its bound.
func TestBreakoutBroadcastSealed(t *testing.T) {
	srv := startServer(t, nil)
	set := servertest.OpenSettings()
	set.E2EE = true
	admin := srv.Admin(t)
	id := admin.NewMeeting(t, set).ID
	h := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Host", Cookie: admin.Cookie(), KeyPackage: e2eetest.KeyPackage("kp-host")})
	bob := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Bob", KeyPackage: e2eetest.KeyPackage("kp-bob")})
	h.Control("breakout_open", map[string]any{"seconds": 0, "rooms": []map[string]any{{"name": "Red", "participants": []string{bob.Self().ID}}}})
	bob = enterMove(t, srv, bob, client.Options{Meeting: id, Name: "Bob", KeyPackage: e2eetest.KeyPackage("kp-bob-2")})

	for _, c := range []struct {
		name   string
		fields map[string]any
		code   string
	}{
		{"text in clear", map[string]any{"text": "in clear"}, "bad_breakout"},
		{"a payload over 6 KiB", map[string]any{"payload": make([]byte, 6<<10+1)}, "bad_message"},
		{"both", map[string]any{"payload": []byte("x"), "text": "y"}, "bad_message"},
	} {
		n := len(h.Errors())
		h.Control("breakout_broadcast", c.fields)
		if code := lastError(t, h, n); code != c.code {
			t.Fatalf("%s: %s, want %s", c.name, code, c.code)
		}
	}
	sealed := make([]byte, 300)
	rand.Read(sealed)
	h.Control("breakout_broadcast", map[string]any{"payload": sealed})
	waitFor(t, bob, "the broadcast", func() bool { return len(bob.Broadcasts()) == 1 })
	if b := bob.Broadcasts()[0]; b.From != h.Self().ID || !bytes.Equal(b.Payload, sealed) || b.Text != "" {
		t.Fatalf("Bob heard %+v, want the payload as sent, from the host", b)
	}
}

// TestEndFromBreakoutRoom: the host, visiting a breakout room, ends the
// whole meeting: everyone in every room and in the main room is told it
// ended, and the meeting is gone; a participant in a room cannot.
func TestEndFromBreakoutRoom(t *testing.T) {
	srv, m, host := defended(t, nil)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	var guests []*client.Client
	for _, n := range []string{"Ann", "Bob"} {
		guests = append(guests, srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: n, Passcode: m.Passcode}))
	}
	waitFor(t, h, "two waiting", func() bool { return len(h.WaitingRoom()) == 2 })
	h.Control("admit", map[string]any{"all": true})
	for _, g := range guests {
		waitFor(t, g, "admitted", func() bool { return g.Waiting() == "" && g.Self().ID != "" })
	}
	bob := guests[1]
	h.Control("breakout_open", map[string]any{"seconds": 0, "rooms": []map[string]any{
		{"name": "Red", "participants": []string{h.Self().ID, guests[0].Self().ID}},
	}})
	h = enterMove(t, srv, h, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	ann := enterMove(t, srv, guests[0], client.Options{Meeting: m.ID, Name: "Ann"})
	if h.Room() != 1 || ann.Room() != 1 {
		t.Fatalf("in rooms %d and %d, want both in room 1", h.Room(), ann.Room())
	}

	n := len(ann.Errors())
	ann.Control("end", nil)
	if code := lastError(t, ann, n); code != "forbidden" {
		t.Fatalf("a participant ending the meeting from a room: %s", code)
	}
	h.Control("end", nil)
	for _, c := range []*client.Client{h, ann, bob} {
		select {
		case <-c.Done():
		case <-waitCtx(t).Done():
			t.Fatalf("%s's socket stayed open after the meeting ended", c.Self().Name)
		}
		if r := c.ClosedReason(); r != "ended" {
			t.Errorf("%s: closed with %q, want ended", c.Self().Name, r)
		}
	}
	// The meeting starts afresh: the host comes back to an empty main room, with no rooms open.
	back := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	if back.Room() != 0 || len(back.Roster()) != 1 {
		t.Fatalf("after the end, the host came back to room %d with %d people", back.Room(), len(back.Roster()))
	}
	waitFor(t, back, "no breakout rooms", func() bool { return !back.Breakouts().Open })
}
