package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// watchFloods records the peers r closes for flooding (OnPeerFlooded).
func watchFloods(r *Router) chan *Peer {
	flooded := make(chan *Peer, 4)
	r.OnPeerFlooded(func(p *Peer) { flooded <- p })
	return flooded
}

func routerPeer(r *Router, participant string) *Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[participant]
}

// TestFloodedPeerLeavesTheRouter: a participant whose client floods the
// server with made-up SSRCs has its peer closed (TestSSRCFloodClosesThePeer)
// and now also taken out of the router, its microphone unpublished, and
// the router's owner told (OnPeerFlooded, which a room uses to take the
// participant out and tell its client). Before, the closed peer stayed
// the participant's in the router until its signalling ended, and nobody
// was told. The same participant can then come back with a new peer.
func TestFloodedPeerLeavesTheRouter(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")
	flooded := watchFloods(r)
	eve := newPionClient(t, r, "eve")
	mic := eve.publish([]Source{SourceMicrophone}, false)["microphone/"]
	waitFor(t, 20*time.Second, "eve never connected", eve.peer.connected.Load)
	var seq uint16
	waitFor(t, 10*time.Second, "eve's microphone never published", func() bool {
		seq++
		_ = mic.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xf8, 0xff, 0xfe}})
		return len(r.Tracks()) == 1
	})

	go madeUpReports(t, eve.pc, 0x40000000, 20000, func() bool { return peerClosed(eve.peer) })
	select {
	case p := <-flooded:
		if p != eve.peer {
			t.Fatalf("told of peer %p, want eve's %p", p, eve.peer)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the router's owner was never told of the flood close (peer closed: %v; eve in the router: %v)",
			peerClosed(eve.peer), routerPeer(r, "eve") != nil)
	}
	if routerPeer(r, "eve") != nil {
		t.Fatal("the flooding peer is still in the router")
	}
	if n := len(r.Tracks()); n != 0 {
		t.Fatalf("%d tracks still published, want eve's microphone gone", n)
	}
	if _, err := r.AddPeer("eve", nopSignaller{}); err != nil {
		t.Fatalf("eve cannot come back: %v", err)
	}
	select {
	case p := <-flooded:
		t.Fatalf("told twice (%p)", p)
	default:
	}
}

// TestFloodCloseSparesTheReconnect: the close of a flooding peer runs on
// a goroutine of its own, so the participant may have reconnected in
// between (its old peer removed, a new one added under the same ID). The
// late close must take neither the new peer out of the router nor the
// participant out of the meeting: the old peer is closed, and nobody is
// told (the owner already replaced it).
func TestFloodCloseSparesTheReconnect(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")
	flooded := watchFloods(r)
	old := newPionClient(t, r, "eve")
	r.RemovePeer("eve") // the reconnect: the room replaces the peer
	now := newPionClient(t, r, "eve")

	r.closeFlooded(old.peer) // the old peer's flood close, late

	if !peerClosed(old.peer) {
		t.Fatal("the flooding peer was not closed")
	}
	if p := routerPeer(r, "eve"); p != now.peer {
		t.Fatalf("the router's peer for eve is %p, want the reconnect's %p", p, now.peer)
	}
	if peerClosed(now.peer) {
		t.Fatal("the reconnect's peer was closed")
	}
	select {
	case p := <-flooded:
		t.Fatalf("told of a flood close of %p though the peer had been replaced", p)
	default:
	}
}
