package server_test

import (
	"slices"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/meeting"
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
