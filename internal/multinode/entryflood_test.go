package multinode_test

import (
	"context"
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
// with closed/flooding, and tells eu1; his peer is gone from eu2 while
// Di goes on receiving, he is out of the meeting at once, the host told
// he was removed, and his resume token does not bring him back as
// himself. (Before, the peer left eu2's router and Bo's client was told
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
	host := join(t, eu1, client.Options{Meeting: m.ID, Name: "Host", Cookie: admin.Cookie()})
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"}, "microphone")
	undo()
	adaID := ada.Self().ID
	bo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo"})
	di := join(t, eu2, client.Options{Meeting: m.ID, Name: "Di"})
	for _, c := range []*client.Client{bo, di} {
		receiving(t, c, adaID, "microphone", 0, 50)
	}
	boID := bo.Self().ID
	if !slices.Contains(eu2.Signal().EntryPeers(m.ID), boID) {
		t.Fatal("Bo has no peer on eu2: the test proves nothing")
	}
	token := bo.ResumeToken()

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

	// eu1 took him out at once, as for a flood on its own node, rather
	// than keeping his place for a reconnect (the resume grace, 30 s,
	// is far longer than this wait): his token no longer brings him
	// back as himself.
	soon, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := host.WaitFor(soon, "Bo out of the meeting", func() bool {
		return !slices.ContainsFunc(host.Roster(), func(p client.Participant) bool { return p.ID == boID })
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := host.LeftReason(boID); r != "removed" {
		t.Fatalf("the host was told Bo %q, want removed (as for a flood on the meeting's own node)", r)
	}
	again := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo", Resume: token})
	if again.Self().ID == boID || again.Resumed() {
		t.Fatalf("Bo, closed for flooding through eu2, resumed his place (%s, resumed %v) with his old token", again.Self().ID, again.Resumed())
	}
}
