package live

import (
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// memberPeer is the member's peer in the room's router, nil if none.
func memberPeer(r *Room, pid meeting.ParticipantID) *sfu.Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[pid]; m != nil {
		return m.peer
	}
	return nil
}

// adaAndBob is a room of the test hub's meeting with Ada (its host) and
// Bob in it over fake connections: the room, both connections, their
// IDs, Bob's welcome (his resume token) and his peer.
type adaAndBob struct {
	hub          *Hub
	dir          *directory
	room         *Room
	ada, bob     *fakeConn
	adaID, bobID meeting.ParticipantID
	welcome      wire.Welcome
	peer         *sfu.Peer
}

func newAdaAndBob(t *testing.T) *adaAndBob {
	t.Helper()
	m := &adaAndBob{ada: &fakeConn{}, bob: &fakeConn{}}
	m.hub, m.dir = newTestHub(t)
	m.room, m.adaID = join(t, m.hub, m.dir.rec.ID, m.ada, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("ada kp")})
	_, m.bobID = join(t, m.hub, m.dir.rec.ID, m.bob, "", wire.ClientMessage{Name: "Bob", KeyPackage: []byte("bob kp")})
	m.bob.last(t, wire.TypeWelcome, &m.welcome)
	if m.peer = memberPeer(m.room, m.bobID); m.peer == nil {
		t.Fatal("bob has no peer")
	}
	return m
}

// TestFloodedMemberLeavesTheRoom: the SFU closed bob's peer for flooding
// (internal/sfu TestFloodedPeerLeavesTheRouter) and tells the room
// (Router.OnPeerFlooded). Bob is taken out of the room,
// his connection closed with closed/flooding, and the others told he was
// removed; his resume token no longer brings him back as himself.
func TestFloodedMemberLeavesTheRoom(t *testing.T) {
	m := newAdaAndBob(t)
	hub, dir, room, ada, bob, bobID, welcome, peer := m.hub, m.dir, m.room, m.ada, m.bob, m.bobID, m.welcome, m.peer

	// What the SFU calls once it has closed the peer and taken it out of
	// its router (the callback withFloodWatch gave the room's router).
	room.peerFlooded(peer)

	if c := bob.closes(); len(c) != 1 || c[0] != Closed(wire.ClosedFlooding, FloodedMessage) {
		t.Fatalf("bob's connection closed with %+v, want flooding", c)
	}
	var left wire.ParticipantLeft
	if !ada.last(t, wire.TypeParticipantLeft, &left) || left.ID != string(bobID) || left.Reason != wire.LeftRemoved {
		t.Fatalf("ada is told %+v, want bob removed", left)
	}
	if _, people := hub.Counts(); people != 1 {
		t.Fatalf("%d participants, want ada alone", people)
	}
	if len(ada.closes()) != 0 {
		t.Fatalf("ada's connection closed: %+v", ada.closes())
	}
	bob2 := &fakeConn{}
	if _, again := join(t, hub, dir.rec.ID, bob2, "", wire.ClientMessage{Name: "Bob", Resume: welcome.Resume, KeyPackage: []byte("bob kp")}); again == bobID {
		t.Fatal("bob resumed his place after being closed for flooding")
	}
}

// TestFloodCloseOfAReplacedPeerKeepsTheMember: bob resumed on a new
// connection (a new peer) just before the SFU's close of his old peer
// for flooding reached the room. The late word about the old peer must
// not take out bob, nor close his new connection.
func TestFloodCloseOfAReplacedPeerKeepsTheMember(t *testing.T) {
	m := newAdaAndBob(t)
	hub, dir, room, ada, bobID, welcome, old := m.hub, m.dir, m.room, m.ada, m.bobID, m.welcome, m.peer

	bob2 := &fakeConn{}
	if _, again := join(t, hub, dir.rec.ID, bob2, "", wire.ClientMessage{Name: "Bob", Resume: welcome.Resume}); again != bobID {
		t.Fatalf("resumed as %s, want %s", again, bobID)
	}
	now := memberPeer(room, bobID)
	if now == nil || now == old {
		t.Fatalf("bob's peer after the resume: %p (old %p)", now, old)
	}

	room.peerFlooded(old)

	if c := bob2.closes(); len(c) != 0 {
		t.Fatalf("bob's new connection closed with %+v", c)
	}
	if memberPeer(room, bobID) != now {
		t.Fatal("bob's new peer is gone from the room")
	}
	var left wire.ParticipantLeft
	if ada.last(t, wire.TypeParticipantLeft, &left) {
		t.Fatalf("ada is told %+v", left)
	}
	if _, people := hub.Counts(); people != 2 {
		t.Fatalf("%d participants, want ada and bob", people)
	}
}
