package sfu

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestRelayOnStar: a meeting on three nodes, its relays a star around the
// meeting's node M (RelayOn). Ada publishes on E1; Cy, on E2, receives
// her through M, which relays what E1 sends on to E2 but never back to
// E1. Neither entry node relays on what it receives: E2's relay to M
// carries nothing (it has no publisher of its own), and E1's carries only
// Ada's tracks, not what M sends it of anyone else's.
func TestRelayOnStar(t *testing.T) {
	m, e1, e2 := newTestSFU(t).NewRouter("m"), newTestSFU(t).NewRouter("m"), newTestSFU(t).NewRouter("m")
	for _, r := range []*Router{m, e1, e2} {
		t.Cleanup(r.Close)
	}
	m.RelayOn()

	ada := newPionClient(t, e1, "ada")
	tracks := ada.publish([]Source{SourceMicrophone}, false)
	cy := newPionClient(t, e2, "cy")
	e1ToM := link(t, e1, m, "E1", "M")
	mToE1 := link(t, m, e1, "M", "E1")
	e2ToM := link(t, e2, m, "E2", "M")
	mToE2 := link(t, m, e2, "M", "E2")

	mic := tracks["microphone/"]
	var sent uint32
	waitFor(t, 30*time.Second, "Cy on E2 never received Ada's microphone from E1", func() bool {
		if err := mic.write(testPayload(warmUp+sent), 960); err != nil {
			t.Fatal(err)
		}
		sent++
		return len(cy.got(webrtc.RTPCodecTypeAudio)) > 0
	})

	if n := len(e1ToM.out.relayed()); n != 1 {
		t.Fatalf("E1 relays %d tracks to M, want Ada's microphone", n)
	}
	if rs := mToE2.out.relayed(); len(rs) != 1 || rs[0].up.Participant() != "ada" || rs[0].up.from != "E1" {
		t.Fatalf("M relays %d tracks to E2, want Ada's from E1", len(rs))
	}
	if n := len(mToE1.out.relayed()); n != 0 {
		t.Fatalf("M relays %d tracks back to E1, where they came from", n)
	}
	if n := len(e2ToM.out.relayed()); n != 0 {
		t.Fatalf("E2 relays on %d tracks it received", n)
	}
	onE2 := e2.Tracks()
	if len(onE2) != 1 || !onE2[0].relayed || onE2[0].from != "M" {
		t.Fatalf("E2 has %d tracks, want Ada's relayed from M", len(onE2))
	}

	// Ada leaves E1: her track goes from M, and from E2.
	e1.RemovePeer("ada")
	waitFor(t, 20*time.Second, "Ada's track stayed on E2", func() bool { return len(e2.Tracks()) == 0 })
	if n := len(mToE2.out.relayed()); n != 0 {
		t.Fatalf("M still relays %d tracks to E2", n)
	}
}
