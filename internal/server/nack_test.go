package server_test

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
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
	srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Clean", Observe: cleanSeq.observe})
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

	cu, cdups, cspan := cleanSeq.counts()
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

// lossyConn is a UDP socket that drops a fraction of the RTP packets it
// receives (never STUN, DTLS or RTCP), at random with a fixed seed.
type lossyConn struct {
	net.PacketConn
	rate    float64
	mu      sync.Mutex
	rng     *rand.Rand
	dropped atomic.Uint64
}

func newLossyConn(t *testing.T, rate float64) *lossyConn {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &lossyConn{PacketConn: conn, rate: rate, rng: rand.New(rand.NewPCG(1, 2))}
}

func (c *lossyConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || !isRTP(p[:n]) || !c.drop() {
			return n, addr, err
		}
		c.dropped.Add(1)
	}
}

func (c *lossyConn) drop() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64() < c.rate
}

// isRTP tells (S)RTP from RTCP (payload types 192-223 with the marker
// bit), STUN and DTLS (RFC 7983).
func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

// lossyAPI is client.DefaultAPI's configuration (default codecs and
// interceptors, including the NACK generator) carrying its media over conn.
func lossyAPI(conn *lossyConn) *webrtc.API {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	r := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, r); err != nil {
		panic(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	se.SetICEUDPMux(webrtc.NewICEUDPMux(quiet.NewLogger("ice"), conn))
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(r), webrtc.WithSettingEngine(se))
}
