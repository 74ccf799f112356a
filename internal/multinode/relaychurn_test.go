package multinode_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestClusterRelayChurnReusesSections: Ada, on the meeting's node eu1,
// publishes and unpublishes her microphone again and again while Bo
// listens through eu2. Each of her tracks reaches Bo and ends on his side,
// and eu1's relay offers to eu2 never grow past the one section her
// microphone needs (a section per track ever published without reuse, so
// a long meeting's churn, from a client that reuses its own sections as
// the web client does, would reach the relay's bound).
func TestClusterRelayChurnReusesSections(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	m := eu1.Admin(t).NewMeeting(t, servertest.OpenSettings())

	// The media sections of eu1's relay offers to eu2, at most.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var most, offers atomic.Int64
	if _, err := nc.Subscribe(cluster.RelaySubject("eu2"), func(msg *nats.Msg) {
		var rm cluster.RelayMessage
		if json.Unmarshal(msg.Data, &rm) == nil && rm.Kind == cluster.RelayOffer && rm.From == "eu1" {
			n := int64(strings.Count(rm.SDP, "\r\nm="))
			for {
				old := most.Load()
				if n <= old || most.CompareAndSwap(old, n) {
					break
				}
			}
			offers.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	undo := placeOn(t, eu1, eu2)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"}, "microphone")
	undo()
	bo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo"})
	adaID := ada.Self().ID

	// Ada's own client adds a sending section at each publish (the web
	// client reuses its own, the pion client does not), and the SFU takes
	// at most 8 from a client: 7 cycles after her first.
	const cycles = 7
	for i := range cycles {
		if i > 0 {
			lt, err := ada.Publish("microphone")
			if err != nil {
				t.Fatal(err)
			}
			pump(t, lt)
		}
		waitFor(t, bo, "a new track of Ada's microphone", func() bool {
			rt := bo.Track(adaID, "microphone")
			return rt != nil && !rt.Ended()
		})
		receiving(t, bo, adaID, "microphone", packets(bo, adaID, "microphone"), 20)
		rt := bo.Track(adaID, "microphone")
		if err := ada.Unpublish("microphone"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, bo, "Ada's microphone ended on Bo's side", rt.Ended)
		if n := most.Load(); n > 1 {
			t.Fatalf("after %d publish-unpublish cycles, eu1 offers eu2 a relay of %d media sections, want 1 (reused)", i+1, n)
		}
	}
	t.Logf("%d cycles: %d relay offers from eu1 to eu2, at most %d media section", cycles, offers.Load(), most.Load())
}
