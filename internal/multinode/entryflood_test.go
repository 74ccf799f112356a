package multinode_test

import (
	"slices"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestClusterEntryPeerFloodClosesTheSocket: Bo and Di are in a meeting
// held on eu1 through eu2, where their peers are. Bo's client sends
// receiver reports naming made-up SSRCs: eu2 closes his peer at
// its bound and, nobody else on eu2 knowing of him, closes his socket
// with closed/flooding; his peer is gone from eu2 while Di goes on
// receiving. (Before, the peer left eu2's router and Bo's client was told
// nothing: it sat in the meeting with a dead connection.)
func TestClusterEntryPeerFloodClosesTheSocket(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	admin := eu1.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, eu2)
	join(t, eu1, client.Options{Meeting: m.ID, Name: "Host", Cookie: admin.Cookie()})
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"}, "microphone")
	undo()
	adaID := ada.Self().ID
	bo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo"})
	di := join(t, eu2, client.Options{Meeting: m.ID, Name: "Di"})
	for _, c := range []*client.Client{bo, di} {
		receiving(t, c, adaID, "microphone", 0, 50)
	}
	if !slices.Contains(eu2.Signal().EntryPeers(m.ID), bo.Self().ID) {
		t.Fatal("Bo has no peer on eu2: the test proves nothing")
	}

	// Made-up SSRCs, 310 at a time (a burst of 10 reports: loopback
	// drops what a socket buffer cannot take), until the server closes
	// Bo; errors once it has closed his peer are expected.
	rt := bo.Track(adaID, "microphone")
	next := uint32(0x5000_0000)
	ctx := waitCtx(t)
	for sent := false; !sent; {
		made := make([]uint32, 310)
		for i := range made {
			made[i] = next
			next++
		}
		_ = rt.SendReportsAbout(made)
		select {
		case <-bo.Done():
			sent = true
		case <-ctx.Done():
			t.Fatalf("Bo's socket is still open on eu2 after %d made-up SSRCs", next-0x5000_0000)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if r := bo.ClosedReason(); r != "flooding" {
		t.Fatalf("Bo's socket closed with %q, want flooding", r)
	}
	if err := waitUntil(waitCtx(t), func() bool { return !slices.Contains(eu2.Signal().EntryPeers(m.ID), bo.Self().ID) }); err != nil {
		t.Fatalf("Bo still has a peer on eu2: %v", err)
	}
	receiving(t, di, adaID, "microphone", packets(di, adaID, "microphone"), 100)
}
