package live

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestReview4PeerFloodedRacesTheRoom: the SFU's word that bob's peer was
// closed for flooding (Room.peerFlooded, called on a goroutine of the
// SFU's own) arrives while bob resumes from a second window, leaves, is
// removed by a host, or the host ends the meeting. Whatever the order,
// nothing deadlocks, a resume that won keeps bob (his new connection is
// not closed, his new peer stays), a resume that lost joins afresh (the
// token was voided), and no connection but bob's first is ever closed
// for flooding. Run it with -race.
func TestReview4PeerFloodedRacesTheRoom(t *testing.T) {
	for _, race := range []string{"resume", "leave", "remove", "end"} {
		for i := range 20 {
			t.Run(fmt.Sprint(race, i), func(t *testing.T) { review4FloodRace(t, race, i) })
		}
	}
}

func review4FloodRace(t *testing.T, race string, i int) {
	m := newAdaAndBob(t)
	hub, dir, room, ada, bob, adaID, bobID, welcome, old := m.hub, m.dir, m.room, m.ada, m.bob, m.adaID, m.bobID, m.welcome, m.peer
	bob2 := &fakeConn{}
	var again meeting.ParticipantID
	var joinErr error

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		room.peerFlooded(old) // what the SFU's flood close calls (flood.go)
	}()
	go func() {
		defer wg.Done()
		switch race {
		case "resume":
			r, st, err := hub.Open(context.Background(), dir.rec.ID)
			if err != nil {
				joinErr = err
				return
			}
			hello := wire.ClientMessage{Type: wire.TypeHello, V: wire.Version, Meeting: string(dir.rec.ID), Name: "Bob", Resume: welcome.Resume, KeyPackage: []byte("bob kp")}
			j := &Joiner{Conn: bob2, Hello: &hello, Identity: meeting.Identity{Addr: netip.MustParseAddr("192.0.2.1")},
				Placed: func(_ *Room, p meeting.ParticipantID) { again = p }}
			joinErr = r.Join(j, st)
		case "leave":
			room.Leave(bobID, bob)
		case "remove":
			_ = room.Remove(adaID, ada, bobID, false)
		case "end":
			_ = room.End(adaID, ada)
		}
	}()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s %d: the flood close and the %s never finished (deadlock)", race, i, race)
	}

	if joinErr != nil {
		t.Fatalf("%s %d: bob's second window: %v", race, i, joinErr)
	}
	for _, c := range []*fakeConn{ada, bob2} {
		for _, r := range c.closes() {
			if r.Code == wire.ClosedFlooding {
				t.Fatalf("%s %d: a connection other than bob's first closed for flooding", race, i)
			}
		}
	}
	if race == "resume" && again == bobID {
		if len(bob2.closes()) != 0 {
			t.Fatalf("resume %d: bob's resumed connection closed with %+v", i, bob2.closes())
		}
		if p := memberPeer(room, bobID); p == nil || p == old {
			t.Fatalf("resume %d: bob resumed but his peer is %p (old %p)", i, p, old)
		}
	}
	if race == "resume" && again != bobID {
		if c := bob.closes(); len(c) == 0 || c[0].Code != wire.ClosedFlooding {
			t.Fatalf("resume %d: bob lost his place but his first connection closed with %+v", i, c)
		}
	}
}
