package server_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
)

// TestNACKRepairsOneSubscribersLoss: one subscriber's path drops 5 % of the
// media packets it receives. The SFU answers that subscriber's NACKs from
// its own cache, so it ends up with (nearly) every packet; a subscriber on
// a clean path sees neither loss nor duplicates, and the publisher sees no
// NACK at all: one subscriber's repair never costs the publisher's uplink.
func TestNACKRepairsOneSubscribersLoss(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)

	lossy := newLossyConn(t, 0.05)
	var cleanSeq, lossySeq sequences
	// The clean path counts duplicates on the wire: pion's SRTP replay
	// check would hide them from Observe.
	cleanPath := newLossyConn(t, 0)
	srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Clean", API: lossyAPI(cleanPath), Observe: cleanSeq.observe})
	lossySub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Lossy", API: lossyAPI(lossy), Observe: lossySeq.observe})
	pub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Pub", Publish: []string{"camera"}})

	// 100 frames a second of two packets each: enough packets for a
	// loss rate to show in a few seconds.
	cfg := client.PumpConfig{FrameInterval: 10 * time.Millisecond, FrameBytes: 2000, KeyframeEvery: 200, KeyframeBytes: 6000, ClockRate: 90000}
	ctx, stop := context.WithCancel(context.Background())
	var pumping sync.WaitGroup
	pumping.Add(1)
	go func() {
		defer pumping.Done()
		pub.Local("camera").Pump(ctx, cfg)
	}()
	t.Cleanup(func() { stop(); pumping.Wait() })

	pubID := pub.Self().ID
	err := lossySub.WaitFor(waitCtx(t), "enough packets dropped", func() bool {
		rt := lossySub.Track(pubID, "camera")
		return rt != nil && rt.Packets() >= 800 && lossy.dropped.Load() >= 20
	})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	pumping.Wait()

	// Repairs of the last losses may still be under way: wait until the
	// lossy subscriber has every packet, or give up and count.
	_ = lossySub.WaitFor(withTimeout(t, 3*time.Second), "every packet repaired", func() bool {
		u, _, span := lossySeq.counts()
		return u == span
	})

	unique, dups, span := lossySeq.counts()
	dropped := lossy.dropped.Load()
	t.Logf("lossy subscriber: %d of %d packets, %d duplicates; %d dropped on its path", unique, span, dups, dropped)
	if float64(dropped) < 0.02*float64(span) {
		t.Fatalf("the lossy path dropped only %d of %d packets: the test does not test", dropped, span)
	}
	if float64(unique) < 0.995*float64(span) {
		t.Errorf("lossy subscriber got %d of %d packets: losses not repaired", unique, span)
	}

	cu, _, cspan := cleanSeq.counts()
	cdups := cleanPath.duplicates()
	t.Logf("clean subscriber: %d of %d packets, %d duplicates", cu, cspan, cdups)
	if cu != cspan || cdups != 0 {
		t.Errorf("clean subscriber got %d of %d packets and %d duplicates, want all and none", cu, cspan, cdups)
	}
	if n := pub.Local("camera").NACKs(); n != 0 {
		t.Errorf("the publisher received %d NACKs; its uplink lost nothing", n)
	}
}

// sequences counts the distinct sequence numbers of the video a client
// receives, and the packets that repeat one.
type sequences struct {
	mu                 sync.Mutex
	seen               [1 << 16 / 64]uint64
	unique, duplicates uint64
	first, last        uint16
}

func (s *sequences) observe(rt *client.RemoteTrack) func([]byte) {
	if rt.Kind != "video" {
		return nil
	}
	return func(pkt []byte) {
		if len(pkt) >= 4 {
			s.note(binary.BigEndian.Uint16(pkt[2:4]))
		}
	}
}

func (s *sequences) note(seq uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[seq/64]&(1<<(seq%64)) != 0 {
		s.duplicates++
		return
	}
	s.seen[seq/64] |= 1 << (seq % 64)
	if s.unique == 0 {
		s.first, s.last = seq, seq
	} else if int16(seq-s.last) > 0 {
		s.last = seq
	}
	s.unique++
}

// counts returns the distinct sequence numbers received, the repeats, and
// the span from the first to the newest (what the sender numbered
// meanwhile). Exact below 65536 packets.
func (s *sequences) counts() (unique, duplicates, span uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unique == 0 {
		return 0, s.duplicates, 0
	}
	return s.unique, s.duplicates, uint64(s.last-s.first) + 1
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
