package sfu

import (
	"context"
	"encoding/binary"
	"fmt"
	"log"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// directRig is a publisher streaming a key frame packet every 2 ms and a
// subscriber reading them, each a pion client, through an SFU.
type directRig struct {
	s     *SFU
	sub   *Peer
	sc    *webrtc.PeerConnection
	ssig  *directSignals
	sent  atomic.Int64 // packets the publisher wrote
	got   atomic.Int64 // packets the subscriber decrypted
	bad   atomic.Int64 // packets whose payload was not their own
	track chan struct{}
}

// directSignals is the subscriber's signalling: it answers the SFU's
// offers, takes the SFU's answers to its own (ICE restarts) and trickles
// the SFU's candidates to the client.
type directSignals struct {
	client  *webrtc.PeerConnection
	peer    chan *Peer
	answers chan string
	t       *testing.T
}

func (s *directSignals) wait() *Peer { p := <-s.peer; s.peer <- p; return p }

func (s *directSignals) Renegotiate() {
	go func() {
		if err := s.wait().HandleReady(); err != nil {
			log.Print("direct rig: ready: ", err) // not t: this may run after the test
		}
	}()
}

func (s *directSignals) Offer(sdp string, _ []TrackInfo) {
	go func() {
		p := s.wait()
		if err := s.client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			log.Print("direct rig: offer: ", err)
			return
		}
		answer, err := s.client.CreateAnswer(nil)
		if err == nil {
			err = s.client.SetLocalDescription(answer)
		}
		if err == nil {
			err = p.HandleAnswer(answer.SDP)
		}
		if err != nil {
			log.Print("direct rig: answer: ", err)
		}
	}()
}

func (s *directSignals) Answer(sdp string) { s.answers <- sdp }

func (s *directSignals) Candidate(c webrtc.ICECandidateInit) {
	if c.Candidate != "" {
		go s.client.AddICECandidate(c) //nolint:errcheck // a test's candidates
	}
}

// newDirectRig starts the rig: cfg is the SFU's, clientSE sets up the
// subscriber's setting engine (nil: as is), extra is called with each
// of the subscriber's candidates before it is handed to the SFU.
func newDirectRig(t *testing.T, ctx context.Context, cfg Config, clientSE func(*webrtc.SettingEngine), extra func(*Peer, webrtc.ICECandidateInit)) *directRig {
	t.Helper()
	cfg.IncludeLoopback = true
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")
	rig := &directRig{s: s, track: make(chan struct{})}

	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.DisableSRTPReplayProtection(true)
	if clientSE != nil {
		clientSE(&se)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	rig.sc, err = api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rig.sc.Close() })
	rig.ssig = &directSignals{client: rig.sc, peer: make(chan *Peer, 1), answers: make(chan string, 1), t: t}
	rig.sub, err = r.AddPeer("sub", rig.ssig)
	if err != nil {
		t.Fatal(err)
	}
	rig.ssig.peer <- rig.sub
	t.Cleanup(rig.sub.close)
	rig.sc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		if extra != nil {
			extra(rig.sub, init)
		}
		go rig.sub.AddCandidate(init) //nolint:errcheck // a test's candidates
	})
	var first sync.Once
	rig.sc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		// pion may report a second remote track (a renegotiation's
		// new SSRC): the rig counts them all and signals the first.
		first.Do(func() { close(rig.track) })
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if len(p.Payload) < 8 || binary.BigEndian.Uint64(p.Payload[len(p.Payload)-8:]) != uint64(p.SequenceNumber) {
				rig.bad.Add(1)
			}
			rig.got.Add(1)
		}
	})

	track := publishCamera(t, r)
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			seq := uint16(i)
			if _, err := track.Write(keyPacket(seq, uint32(i)*3000, uint64(seq))); err != nil {
				return
			}
			rig.sent.Add(1)
		}
	}()
	select {
	case <-rig.track:
	case <-ctx.Done():
		t.Fatal("the subscriber got no track")
	}
	return rig
}

// await waits until cond holds, failing with what after ctx ends.
func await(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out waiting: " + what)
		case <-tick.C:
		}
	}
}

// more waits for n more packets at the subscriber, sent while the
// direct path stood as it is now, and checks they were all intact.
func (rig *directRig) more(t *testing.T, ctx context.Context, n int64) {
	t.Helper()
	from := rig.got.Load()
	await(t, ctx, fmt.Sprintf("%d more packets at the subscriber", n), func() bool { return rig.got.Load() >= from+n })
	if bad := rig.bad.Load(); bad > 0 {
		t.Fatalf("%d packets carried another's payload", bad)
	}
}

// selected is the SFU's selected pair for the subscriber, as pion has
// it: the local candidate's port and the remote address.
func (rig *directRig) selected(t *testing.T) (uint16, netip.AddrPort) {
	t.Helper()
	pair, err := rig.sub.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("no selected pair: %v", err)
	}
	ra, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		t.Fatal(err)
	}
	return pair.Local.Port, netip.AddrPortFrom(ra.Unmap(), pair.Remote.Port)
}

// onDirectPath checks that the subscriber's packets take the direct path
// to ICE's selected pair, and returns the target.
func (rig *directRig) onDirectPath(t *testing.T, ctx context.Context) *directTarget {
	t.Helper()
	o := rig.sub.out
	await(t, ctx, "the direct path", func() bool { return o.direct.Load() != nil })
	sent := o.directSent.Load()
	rig.more(t, ctx, 50)
	// Packets in flight when sent was read may be among the 50 received:
	// the direct path must carry 50 more all the same, the publisher
	// going on.
	await(t, ctx, fmt.Sprintf("50 packets more than %d on the direct path", sent), func() bool { return o.directSent.Load() >= sent+50 })
	tg := o.direct.Load()
	port, dst := rig.selected(t)
	if lp := uint16(tg.c.LocalAddr().(*net.UDPAddr).Port); lp != port || tg.dst != dst {
		t.Fatalf("direct path from port %d to %v; ICE's selected pair is %d to %v", lp, tg.dst, port, dst)
	}
	return tg
}

// TestDirectPathPerCandidateSockets: with a socket per candidate, the
// subscriber's forwarded packets go straight to the selected pair's
// socket and remote address (counted), and all arrive intact.
func TestDirectPathPerCandidateSockets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rig := newDirectRig(t, ctx, Config{}, nil, nil)
	tg := rig.onDirectPath(t, ctx)
	if tg.c.LocalAddr().(*net.UDPAddr).IP.IsUnspecified() {
		t.Fatalf("the direct path took a socket on every address (%v), not a candidate's", tg.c.LocalAddr())
	}
}

// TestDirectPathSingleUDPPort: with the single-port UDP mux, the direct
// path writes to the mux's socket.
func TestDirectPathSingleUDPPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	rig := newDirectRig(t, ctx, Config{UDPPort: port}, nil, nil)
	tg := rig.onDirectPath(t, ctx)
	if got := tg.c.LocalAddr().(*net.UDPAddr).Port; got != port {
		t.Fatalf("direct path from port %d, want the mux's %d", got, port)
	}
}

// TestDirectPathNotForTCP: a subscriber reached over ICE-TCP keeps
// pion's path (its packets arrive, none on the direct path).
func TestDirectPathNotForTCP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rig := newDirectRig(t, ctx, Config{ICETCP: true}, func(se *webrtc.SettingEngine) {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}, nil)
	rig.more(t, ctx, 100)
	pair, err := rig.sub.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP {
		t.Fatalf("selected pair %v (%v), want TCP", pair, err)
	}
	if rig.sub.out.state.Load() != outOwn {
		t.Fatalf("SRTP state %d, want the SFU's own", rig.sub.out.state.Load())
	}
	if n := rig.sub.out.directSent.Load(); n != 0 || rig.sub.out.direct.Load() != nil {
		t.Fatalf("%d packets on the direct path over TCP", n)
	}
}

// TestDirectPathNeverToAnUnselectedCandidate: a hostile subscriber
// signals, with its own candidates and above them in priority, a
// candidate at a third party's address (a socket here that never
// answers ICE's checks). ICE checks it (the third party sees STUN) but
// never selects it, and it gets no media: the direct path sends only to
// ICE's validated selected pair.
func TestDirectPathNeverToAnUnselectedCandidate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	victim, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	var stunSeen, mediaSeen atomic.Int64
	checked := make(chan struct{})
	var checkedOnce sync.Once
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := victim.ReadFromUDP(buf)
			if err != nil {
				return
			}
			switch {
			case n > 0 && buf[0] < 4:
				stunSeen.Add(1)
				checkedOnce.Do(func() { close(checked) })
			default:
				mediaSeen.Add(1)
			}
		}
	}()
	vport := victim.LocalAddr().(*net.UDPAddr).Port
	var once atomic.Bool
	rig := newDirectRig(t, ctx, Config{}, nil, func(sub *Peer, c webrtc.ICECandidateInit) {
		if once.CompareAndSwap(false, true) {
			// Before the client's own, with the highest host priority.
			fake := c
			fake.Candidate = fmt.Sprintf("candidate:3735928559 1 udp 2130706431 127.0.0.1 %d typ host", vport)
			if err := sub.AddCandidate(fake); err != nil {
				t.Errorf("the SFU refused the third party's candidate: %v", err)
			}
		}
		// The client's own candidates wait until the SFU has checked
		// the third party's (at most 5 s): once a pair is selected pion
		// checks no other, and a fast nomination left it unchecked now
		// and then (the test then proved nothing, and failed so).
		select {
		case <-checked:
		case <-time.After(5 * time.Second):
		}
	})
	rig.onDirectPath(t, ctx)
	rig.more(t, ctx, 500)
	if stunSeen.Load() == 0 {
		t.Fatal("the third party's candidate was never checked: the test proves nothing")
	}
	if n := mediaSeen.Load(); n != 0 {
		t.Fatalf("the third party got %d datagrams that are not STUN", n)
	}
	if _, dst := rig.selected(t); dst.Port() == uint16(vport) {
		t.Fatal("ICE selected the third party's candidate")
	}
}

// TestDirectPathFollowsAnICERestart: the subscriber restarts ICE (an
// offer with new credentials); the SFU gathers new sockets and selects
// a new pair, and the direct path moves to it: its packets keep
// arriving, from the new pair's socket to its remote address.
func TestDirectPathFollowsAnICERestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rig := newDirectRig(t, ctx, Config{}, nil, nil)
	before := rig.onDirectPath(t, ctx)
	await(t, ctx, "stable signalling", func() bool {
		return rig.sc.SignalingState() == webrtc.SignalingStateStable && rig.sub.pc.SignalingState() == webrtc.SignalingStateStable
	})
	offer, err := rig.sc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.sc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := rig.sub.HandleOffer(offer.SDP, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case sdp := <-rig.ssig.answers:
		if err := rig.sc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("no answer to the restart")
	}
	await(t, ctx, "a new direct path", func() bool {
		tg := rig.sub.out.direct.Load()
		return tg != nil && tg.c != before.c
	})
	rig.onDirectPath(t, ctx)
}

// TestDirectPathStopsWhenICEIsDown: once the subscriber is gone (its
// client closed) and ICE no longer says connected, the direct path is
// given up: forwarded packets go to pion's path, none directly.
func TestDirectPathStopsWhenICEIsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rig := newDirectRig(t, ctx, Config{}, nil, nil)
	rig.onDirectPath(t, ctx)
	if err := rig.sc.Close(); err != nil {
		t.Fatal(err)
	}
	await(t, ctx, "ICE down", func() bool {
		s := rig.sub.pc.ICEConnectionState()
		return s != webrtc.ICEConnectionStateConnected && s != webrtc.ICEConnectionStateCompleted
	})
	await(t, ctx, "the direct path given up", func() bool { return rig.sub.out.direct.Load() == nil })
	from, sent := rig.sub.out.directSent.Load(), rig.sent.Load()
	await(t, ctx, "50 more packets from the publisher", func() bool { return rig.sent.Load() >= sent+50 })
	if n := rig.sub.out.directSent.Load() - from; n != 0 {
		t.Fatalf("%d packets on the direct path with ICE %s", n, rig.sub.pc.ICEConnectionState())
	}
}

// TestDirectPathDoesNotAllocate: forwarding on the direct path (encrypted
// in the batch queue) allocates nothing per packet, inside the fan-out's
// batch scope and outside any (sent at once), and every packet goes out
// and decrypts.
func TestDirectPathDoesNotAllocate(t *testing.T) {
	up, l := benchUpTrack()
	b := newBatcher(SendAuto, quietLog())
	up.owner.router.sfu.batch = b
	recv := listen(t, "udp4")
	c, ok := b.wrap(listen(t, "udp4")).(*batchConn)
	if !ok {
		t.Fatal("socket not wrapped")
	}
	var outs []*srtpOut
	for i := 0; i < 10; i++ {
		o := attachOwn(t, up, i, &discardConn{closed: make(chan struct{})}).binding.Load().out
		o.direct.Store(&directTarget{c: c, dst: addrOf(recv)})
		outs = append(outs, o)
	}
	raw := benchPacket(1000)
	seq := uint16(0)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		binary.BigEndian.PutUint16(raw[2:], seq)
		binary.BigEndian.PutUint32(raw[4:], uint32(seq/4)*3000)
		up.route(l, raw, int64(seq)*1000)
	})
	if allocs != 0 {
		t.Errorf("route allocates %.1f times per packet on the direct path, want 0", allocs)
	}
	var direct uint64
	for _, o := range outs {
		direct += o.directSent.Load()
	}
	sent, _, failed := b.stats()
	if direct < 9960 || sent != direct || failed != 0 {
		t.Errorf("%d packets on the direct path, %d sent, %d failed; want at least 9960, all sent", direct, sent, failed)
	}

	// Outside a batch scope: sent at once, decrypted by the subscriber
	// (at a socket of its own: the first's buffer is full).
	recv = listen(t, "udp4")
	outs[0].direct.Store(&directTarget{c: c, dst: addrOf(recv)})
	dec := newDecrypter(t)
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1, Timestamp: 3000, SSRC: 77}
	payload := []byte("a packet outside any batch")
	o := outs[0]
	allocs = testing.AllocsPerRun(100, func() {
		o.mu.Lock() // as binding.write is called: one at a time
		h.SequenceNumber++
		o.mu.Unlock()
		if !o.write(&h, payload) {
			t.Fatal("not written")
		}
	})
	if allocs != 0 {
		t.Errorf("a write outside a scope allocates %.1f times, want 0", allocs)
	}
	if b.scopes.Load() != 0 || queuedNow(b) != 0 {
		t.Fatal("a write outside a scope left a scope open or a datagram queued")
	}
	_ = recv.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	for i := 0; i < 101; i++ {
		n, err := recv.Read(buf)
		if err != nil {
			t.Fatalf("packet %d written outside a scope did not arrive: %v", i, err)
		}
		if _, err := dec.Write(buf[:n]); err != nil || dec.failed > 0 || len(dec.got) != i+1 || string(dec.got[i].Payload) != string(payload) {
			t.Fatalf("packet %d written outside a scope did not decrypt: %d failed, %d got", i, dec.failed, len(dec.got))
		}
	}
}

// TestDirectPathNotOnThePlainPath: with SendPlain (no batching sockets)
// the SFU's own SRTP writes through pion's endpoint: packets arrive,
// none on the direct path.
func TestDirectPathNotOnThePlainPath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rig := newDirectRig(t, ctx, Config{Send: SendPlain}, nil, nil)
	rig.more(t, ctx, 100)
	if rig.sub.out.state.Load() != outOwn {
		t.Fatalf("SRTP state %d, want the SFU's own", rig.sub.out.state.Load())
	}
	if n := rig.sub.out.directSent.Load(); n != 0 || rig.sub.out.direct.Load() != nil {
		t.Fatalf("%d packets on the direct path with SendPlain", n)
	}
}
