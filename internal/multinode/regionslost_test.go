package multinode_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// TestClusterLostRegionsChangeMadeUp: a meeting held on eu1, allowed in
// eu and us, with Bo's socket and media on us1. The owner narrows its
// regions to eu through the API on eu2, and eu1 misses the
// kaigi.regions.changed broadcast (as after a lost NATS message). eu1
// checks its relayed members' nodes against the meeting's regions at
// every lease all the same, so Bo is closed with region_not_allowed
// within a few leases; he used to keep the meeting's media on us1 until
// he left.
func TestClusterLostRegionsChangeMadeUp(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	const lease = time.Second
	var lost atomic.Int32
	eu1 := nodeWith(t, "eu1", "eu", natsURL, db, key, func(o *signal.Options) {
		o.EntryLease = lease
		o.LoseRegionsChanged = func() bool { lost.Add(1); return true }
	})
	us1 := nodeWith(t, "us1", "us", natsURL, db, key, func(o *signal.Options) { o.EntryLease = lease })
	eu2 := nodeWith(t, "eu2", "eu", natsURL, db, key, func(o *signal.Options) { o.EntryLease = lease })
	admin := eu1.Admin(t)
	in := func(regions ...string) *meeting.Settings {
		set := servertest.OpenSettings()
		r := meeting.Regions(regions)
		set.Regions = &r
		return set
	}
	m := admin.NewMeeting(t, in("eu", "us"))
	undo := placeOn(t, eu1, us1, eu2)
	host := join(t, eu1, client.Options{Meeting: m.ID, Name: "Host", Cookie: admin.Cookie()}, "microphone")
	undo()
	hostID := host.Self().ID
	bo := join(t, us1, client.Options{Meeting: m.ID, Name: "Bo"})
	receiving(t, bo, hostID, "microphone", 0, 50)
	// Bo stays through several of eu1's checks while the regions allow us.
	receiving(t, bo, hostID, "microphone", packets(bo, hostID, "microphone"), 250)
	select {
	case <-bo.Done():
		t.Fatal("Bo was closed while the meeting's regions allowed us")
	default:
	}

	if code := doAt(t, admin, eu2, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": in("eu")}, nil); code != http.StatusOK {
		t.Fatalf("PATCH the meeting's regions through eu2: %d", code)
	}
	start := time.Now()
	if err := waitUntil(waitCtx(t), func() bool { return lost.Load() > 0 }); err != nil {
		t.Fatalf("eu1 never got the kaigi.regions.changed broadcast to lose: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*lease)
	defer cancel()
	select {
	case <-bo.Done():
	case <-ctx.Done():
		t.Fatalf("Bo is still in the meeting through us1 %v after its regions were narrowed to eu (the broadcast lost on eu1)", time.Since(start))
	}
	t.Logf("Bo closed %v after the narrowing (lease %v)", time.Since(start), lease)
	if r := bo.Refusal(); r == nil || r.Code != "region_not_allowed" {
		t.Fatalf("Bo's socket closed with refusal %+v (closed %q), want region_not_allowed", r, bo.ClosedReason())
	}
	noEntryMedia(t, us1, eu1, m.ID)
	select {
	case <-host.Done():
		t.Fatal("the host's socket closed")
	default:
	}
}
