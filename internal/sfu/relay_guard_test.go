package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// guardedInEnd is a relay test's receiving end that is a RelayGuard:
// it accepts the relayed tracks of the participants in accept only.
type guardedInEnd struct {
	linkInEnd
	mu     *sync.Mutex
	accept map[string]bool
}

func (e guardedInEnd) AcceptRelayed(participant string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.accept[participant]
}

// TestRelayGuardTakesOnlyAcceptedPublishers: node A relays Ada's and
// Bo's microphones to B, whose relay takes Ada's only (the meeting's node
// takes the tracks of members relayed through the sending node, and Bo is
// not one): Bo's track is never published on B, nor reaches its
// subscriber, though A sends it. Once Ada is no longer accepted (removed
// while A goes on sending), RecheckRelayed ends her track on B at once.
func TestRelayGuardTakesOnlyAcceptedPublishers(t *testing.T) {
	a, b := newTestSFU(t).NewRouter("m"), newTestSFU(t).NewRouter("m")
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)

	ada := newPionClient(t, a, "ada").publish([]Source{SourceMicrophone}, false)["microphone/"]
	bo := newPionClient(t, a, "bo").publish([]Source{SourceMicrophone}, false)["microphone/"]
	sub := newPionClient(t, b, "sub")

	var mu sync.Mutex
	end := guardedInEnd{mu: &mu, accept: map[string]bool{"ada": true}}
	l := &relayLink{t: t, ready: make(chan struct{})}
	end.l = l
	in, err := b.RelayFrom("A", end)
	if err != nil {
		t.Fatal(err)
	}
	l.in = in
	out, err := a.RelayTo("B", linkOutEnd{l})
	if err != nil {
		t.Fatal(err)
	}
	l.out = out
	close(l.ready)

	participants := func() map[string]int {
		got := make(map[string]int)
		for _, up := range b.Tracks() {
			got[up.Participant()]++
		}
		return got
	}
	// Both tracks relayed and their packets arriving on B's connection;
	// only Ada's published there.
	i := uint32(0)
	waitFor(t, 30*time.Second, "Ada's microphone never reached B's subscriber", func() bool {
		i++
		_ = ada.write(testPayload(i), 960)
		_ = bo.write(testPayload(i), 960)
		return len(sub.got(webrtc.RTPCodecTypeAudio)) > 0 && len(l.out.relayed()) == 2
	})
	// Bo's track is sent: wait until B has had it a while (its receiver
	// made), still sending both.
	waitFor(t, 30*time.Second, "Bo's relayed track never arrived on B's connection", func() bool {
		i++
		_ = ada.write(testPayload(i), 960)
		_ = bo.write(testPayload(i), 960)
		n := 0
		for _, tr := range in.pc.GetTransceivers() {
			if r := tr.Receiver(); r != nil && r.Track() != nil && r.Track().StreamID() == "bo" {
				n++
			}
		}
		return n > 0
	})
	for range 50 {
		i++
		_ = ada.write(testPayload(i), 960)
		_ = bo.write(testPayload(i), 960)
		time.Sleep(2 * time.Millisecond) // a publisher's pacing
	}
	if got := participants(); got["bo"] != 0 || got["ada"] != 1 {
		t.Fatalf("B publishes %v, want Ada's track only (Bo is not accepted)", got)
	}
	sub.peer.mu.Lock()
	downs := len(sub.peer.downs)
	sub.peer.mu.Unlock()
	if downs != 1 {
		t.Fatalf("B's subscriber has %d tracks, want Ada's only", downs)
	}

	// Ada is no longer accepted; A goes on sending.
	mu.Lock()
	end.accept["ada"] = false
	mu.Unlock()
	if n := b.RecheckRelayed("A"); n != 1 {
		t.Fatalf("RecheckRelayed ended %d tracks, want Ada's 1", n)
	}
	if got := participants(); len(got) != 0 {
		t.Fatalf("B still publishes %v after the recheck", got)
	}
	sub.peer.mu.Lock()
	downs = len(sub.peer.downs)
	sub.peer.mu.Unlock()
	if downs != 0 {
		t.Fatalf("B's subscriber still has %d tracks", downs)
	}
	for range 20 {
		i++
		_ = ada.write(testPayload(i), 960)
		time.Sleep(2 * time.Millisecond)
	}
	if got := participants(); len(got) != 0 {
		t.Fatalf("B publishes %v again", got)
	}
}
