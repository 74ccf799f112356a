package multinode_test

import (
	"context"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// relayedTracks counts the tracks of participant pid that srv's router
// for meeting id publishes.
func relayedTracks(srv *servertest.Server, id meeting.ID, pid string) int {
	r := srv.Signal().Router(id)
	if r == nil {
		return 0
	}
	n := 0
	for _, up := range r.Tracks() {
		if up.Participant() == pid {
			n++
		}
	}
	return n
}

// TestClusterRemovedMemberCannotPublish: a meeting held on eu1, Ada there;
// Di and Flo on eu2, both publishing their microphones, relayed to eu1.
// The host removes Flo, and eu2 misses eu1's close (as after a lost NATS
// message), so eu2 keeps her socket and peer, and relays her microphone,
// until its lease ends her (30 to 40 s), while Di keeps the relays up.
// eu1 ends her relayed track at once all the same: Ada stops getting it
// well before a lease, and it is not published on eu1 again while Di's
// microphone goes on coming (eu1 takes a relay's tracks only of members
// relayed through that node). It used to publish them as long as eu2
// sent them.
func TestClusterRemovedMemberCannotPublish(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := nodeWith(t, "eu2", "eu", natsURL, db, key, func(o *signal.Options) {
		o.LoseClose = func() bool { return true }
	})
	admin := eu1.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, eu2)
	host := join(t, eu1, client.Options{Meeting: m.ID, Name: "Host", Cookie: admin.Cookie()})
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"})
	undo()
	di := join(t, eu2, client.Options{Meeting: m.ID, Name: "Di"}, "microphone")
	flo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Flo"}, "microphone")
	diID, floID := di.Self().ID, flo.Self().ID
	receiving(t, ada, floID, "microphone", 0, 50)
	receiving(t, ada, diID, "microphone", 0, 50)
	if relayedTracks(eu1, meeting.ID(m.ID), floID) != 1 {
		t.Fatalf("eu1 publishes %d of Flo's tracks before her removal, want 1", relayedTracks(eu1, meeting.ID(m.ID), floID))
	}

	if err := host.Control("remove", map[string]any{"participant": floID}); err != nil {
		t.Fatal(err)
	}
	// Well under the 30 s a lost close lasts at most (three leases of 10 s).
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitUntil(ctx, func() bool { return relayedTracks(eu1, meeting.ID(m.ID), floID) == 0 }); err != nil {
		t.Fatalf("eu1 still publishes removed Flo's microphone relayed by eu2 after %v: %v", time.Since(start), err)
	}
	t.Logf("Flo's relayed track ended on eu1 %v after her removal", time.Since(start))
	// eu2 still relays her (its close lost): proof that what follows is
	// eu1's doing.
	select {
	case <-flo.Done():
		t.Log("Flo's socket on eu2 already closed")
	default:
	}
	// Di's microphone keeps coming through the same relay, Flo's never
	// again: 100 more of Di's packets at Ada, and Flo's track at Ada
	// either gone (its end reached Ada's client) or the same track with
	// its count frozen; a new track of hers would be a publication again.
	for range 3 {
		floTrack := ada.Track(floID, "microphone")
		var floAt uint64
		if floTrack != nil {
			floAt = floTrack.Packets()
		}
		receiving(t, ada, diID, "microphone", packets(ada, diID, "microphone"), 100)
		if n := relayedTracks(eu1, meeting.ID(m.ID), floID); n != 0 {
			t.Fatalf("eu1 publishes %d of removed Flo's tracks again", n)
		}
		if now := ada.Track(floID, "microphone"); now != nil && (now != floTrack || now.Packets() != floAt) {
			t.Fatalf("Ada still gets removed Flo's microphone: %d packets, %d before", now.Packets(), floAt)
		}
	}
}
