package sfu

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// testPayload is packet i's payload: a byte that no VP8 depacketizer
// reads as a picture ID or key frame, the index, and random bytes, as an
// end-to-end encrypted frame is to the SFU.
func testPayload(i uint32) []byte {
	p := make([]byte, 5+200)
	p[0] = 0x10
	binary.BigEndian.PutUint32(p[1:], i)
	_, _ = rand.Read(p[5:])
	return p
}

// warmUp is where the indices of packets sent before the counted ones
// start: what is sent while the connections come up may be lost.
const warmUp = 1 << 24

// TestRelayBetweenTwoNodes: a publisher on node A, three subscribers on
// node B, the two nodes' routers joined by a relay. Every packet the
// publisher sends reaches every subscriber on B, payload byte for byte;
// each track crosses once, not once per subscriber; a subscriber's PLI
// reaches the publisher; the publisher leaving ends its tracks on B, and
// the last subscriber leaving B ends the relay on both nodes. Needs the
// network namespace (scripts/isolated.sh).
func TestRelayBetweenTwoNodes(t *testing.T) {
	a, b := newTestSFU(t).NewRouter("m"), newTestSFU(t).NewRouter("m")
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)

	pub := newPionClient(t, a, "ada")
	tracks := pub.publish([]Source{SourceMicrophone, SourceCamera}, false)
	subs := make([]*pionClient, 3)
	for i := range subs {
		subs[i] = newPionClient(t, b, fmt.Sprintf("sub%d", i))
	}
	l := link(t, a, b, "A", "B")

	mic, cam := tracks["microphone/"], tracks["camera/"]
	send := func(i uint32) map[uint32][]byte {
		t.Helper()
		p := testPayload(i)
		if err := mic.write(p, 960); err != nil {
			t.Fatal(err)
		}
		if err := cam.write(p, 3000); err != nil {
			t.Fatal(err)
		}
		return map[uint32][]byte{i: p}
	}

	// Until every subscriber receives both tracks.
	var sentWarm uint32
	waitFor(t, 30*time.Second, "subscribers on B never received both tracks", func() bool {
		send(warmUp + sentWarm)
		sentWarm++
		for _, s := range subs {
			if len(s.got(webrtc.RTPCodecTypeAudio)) == 0 || len(s.got(webrtc.RTPCodecTypeVideo)) == 0 {
				return false
			}
		}
		return true
	})

	const n = 300
	sent := make(map[uint32][]byte, n)
	for i := range uint32(n) {
		for k, v := range send(i) {
			sent[k] = v
		}
		time.Sleep(2 * time.Millisecond) // a publisher's pacing, not a wait for anything
	}
	for i, s := range subs {
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			waitFor(t, 20*time.Second, fmt.Sprintf("subscriber %d: not every %s packet arrived", i, kind), func() bool {
				got := s.got(kind)
				for k := range sent {
					if got[k] == nil {
						return false
					}
				}
				return true
			})
			got := s.got(kind)
			for k, p := range sent {
				if !bytes.Equal(got[k], p) {
					t.Fatalf("subscriber %d, %s packet %d: payload changed on the way", i, kind, k)
				}
			}
		}
	}
	t.Logf("%d packets of each track reached each of %d subscribers on B (after %d warm-up packets)", n, len(subs), sentWarm)

	// Once per node pair: one relayed track per published track, each
	// packet relayed once whatever the number of subscribers.
	relayed := l.out.relayed()
	if len(relayed) != 2 {
		t.Fatalf("%d tracks relayed, want 2", len(relayed))
	}
	for _, rt := range relayed {
		s := rt.senders[0]
		if got, most := s.packets.Load(), uint64(n)+uint64(sentWarm); got < n || got > most {
			t.Errorf("%s: %d packets relayed; the publisher sent %d", rt.up.source, got, most)
		}
	}
	onB := b.Tracks()
	if len(onB) != 2 {
		t.Fatalf("node B has %d tracks, want the 2 relayed", len(onB))
	}
	for _, up := range onB {
		if up.Participant() != "ada" || !up.relayed || len(*up.downs.Load()) != len(subs) {
			t.Errorf("on B: %s's %s, relayed %v, %d subscribers", up.Participant(), up.Source(), up.relayed, len(*up.downs.Load()))
		}
	}

	// A subscriber's picture loss reaches the publisher. Join-time
	// requests are throttled, some owed: wait until none has come for
	// three throttle intervals first.
	for last, quiet := pub.plis.Load(), time.Now(); time.Since(quiet) < 3*keyframeInterval; time.Sleep(50 * time.Millisecond) {
		if now := pub.plis.Load(); now != last {
			last, quiet = now, time.Now()
		}
	}
	before := pub.plis.Load()
	s0 := subs[0]
	s0.mu.Lock()
	videoSSRC := s0.ssrcOf[webrtc.RTPCodecTypeVideo]
	s0.mu.Unlock()
	if err := s0.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: videoSSRC}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a subscriber's PLI on B never reached the publisher on A", func() bool {
		return pub.plis.Load() > before
	})

	// The publisher leaves A: its tracks end on B; the relay stays for
	// whoever publishes next.
	a.RemovePeer("ada")
	waitFor(t, 10*time.Second, "the publisher left A, its tracks stayed on B", func() bool {
		return len(b.Tracks()) == 0 && len(l.out.relayed()) == 0
	})
	for _, s := range subs {
		s.peer.mu.Lock()
		left := len(s.peer.downs)
		s.peer.mu.Unlock()
		if left != 0 {
			t.Errorf("%s still subscribed to %d tracks", s.peer.participant, left)
		}
	}
	if to, _ := a.RelayNodes(); len(to) != 1 {
		t.Fatalf("A relays to %v after its publisher left, want still B", to)
	}

	// The last subscriber leaves B: the relay goes on both nodes.
	b.RemovePeer("sub0")
	b.RemovePeer("sub1")
	if _, from := b.RelayNodes(); len(from) != 1 {
		t.Fatalf("B receives from %v with a subscriber left, want A", from)
	}
	b.RemovePeer("sub2")
	waitFor(t, 10*time.Second, "the last subscriber left B, the relay stayed", func() bool {
		to, _ := a.RelayNodes()
		_, from := b.RelayNodes()
		return len(to) == 0 && len(from) == 0 && l.out.pc.ConnectionState() == webrtc.PeerConnectionStateClosed
	})
}

// TestRelaySimulcastLayers: a simulcast camera on A is relayed as its
// three layers, each on its own stream and SSRC; on B it is one simulcast
// track with layers q, h and f, every packet of each layer received, and
// B's subscriber gets the layer B's chooser gives it.
func TestRelaySimulcastLayers(t *testing.T) {
	a, b := newTestSFU(t).NewRouter("m"), newTestSFU(t).NewRouter("m")
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)

	pub := newPionClient(t, a, "ada")
	tracks := pub.publish([]Source{SourceCamera}, true)
	sub := newPionClient(t, b, "bob")
	l := link(t, a, b, "A", "B")

	// VP8 key frames (640×360), so that a subscriber starts on any.
	frame := func(i uint32) []byte {
		p := []byte{0x10, 0, 0, 0, 0, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}
		binary.BigEndian.PutUint32(p[1:], i) // below 2^24: p[1], the frame tag's first byte, is 0 (a key frame)
		return p
	}
	rids := []string{"q", "h", "f"}
	var i uint32
	sendAll := func() {
		t.Helper()
		i++
		for _, rid := range rids {
			if err := tracks["camera/"+rid].write(frame(i), 3000); err != nil {
				t.Fatal(err)
			}
		}
	}
	var up *UpTrack
	waitFor(t, 30*time.Second, "B never had the camera's three layers", func() bool {
		sendAll()
		onB := b.Tracks()
		if len(onB) != 1 {
			return false
		}
		up = onB[0]
		for j := range maxLayers {
			if up.layers[j].Load() == nil {
				return false
			}
		}
		return true
	})
	if !up.Simulcast() || !up.relayed {
		t.Fatalf("on B the camera is simulcast %v, relayed %v", up.Simulcast(), up.relayed)
	}
	ssrcs := map[uint32]bool{}
	for j, rid := range rids {
		ly := up.layers[j].Load()
		if ly.rid != rid || ly.ssrc == 0 || ssrcs[ly.ssrc] {
			t.Errorf("layer %d on B: rid %q, SSRC %d (seen: %v)", j, ly.rid, ly.ssrc, ssrcs)
		}
		ssrcs[ly.ssrc] = true
	}

	// Every packet of each layer from now on crosses.
	var before [maxLayers]uint64
	for j := range maxLayers {
		before[j] = up.layers[j].Load().packets.Load()
	}
	const n = 100
	for range n {
		sendAll()
		time.Sleep(2 * time.Millisecond) // pacing
	}
	for j := range maxLayers {
		waitFor(t, 20*time.Second, fmt.Sprintf("layer %s: not every packet crossed", rids[j]), func() bool {
			return up.layers[j].Load().packets.Load()-before[j] >= n
		})
	}
	waitFor(t, 20*time.Second, "B's subscriber received nothing", func() bool {
		return len(sub.got(webrtc.RTPCodecTypeVideo)) > 0
	})
	if rt := l.out.relayed(); len(rt) != 1 || rt[0].senders[2] == nil {
		t.Fatalf("A relays %d tracks, want the camera with three layers", len(rt))
	}
}

// TestRelayDoesNotAllocate: a track relayed to another node is forwarded
// without allocating, as to a subscriber.
func TestRelayDoesNotAllocate(t *testing.T) {
	up, _ := benchUpTrack()
	s := &relaySender{up: up, layer: 0}
	s.binding.Store(&binding{ssrc: 7, payloadType: 96, writer: &discardWriter{}})
	rt := &relayTrack{up: up}
	rt.senders[0] = s
	if !up.attachRelay(rt) {
		t.Fatal("attach")
	}
	l := up.layers[0].Load()
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: l.ssrc, Marker: true},
		Payload: []byte{0x10, 1, 2, 3}}).Marshal()
	seq := uint16(0)
	allocs := testing.AllocsPerRun(200, func() {
		seq++
		binary.BigEndian.PutUint16(raw[2:], seq)
		binary.BigEndian.PutUint32(raw[4:], uint32(seq)*3000)
		up.route(l, raw, time.Now().UnixNano())
	})
	if allocs != 0 {
		t.Errorf("%v allocations per relayed packet", allocs)
	}
	if s.packets.Load() == 0 {
		t.Fatal("nothing was relayed")
	}
}

// lossyWriter loses the first sending of every tenth sequence number on
// the relay, as a lossy path between nodes would; what is sent again
// passes.
type lossyWriter struct {
	webrtc.TrackLocalWriter
	seen map[uint16]bool // used under the track's fan-out lock
	lost atomic.Uint64
}

func (w *lossyWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if h.SequenceNumber%10 == 0 && !w.seen[h.SequenceNumber] {
		w.seen[h.SequenceNumber] = true
		w.lost.Add(1)
		return len(payload), nil
	}
	return w.TrackLocalWriter.WriteRTP(h, payload)
}

// TestRelayRepairsLoss: video packets lost between the nodes are asked
// for again by the receiving node and sent again from the publishing
// node's packet cache, so a subscriber on B still gets every packet.
func TestRelayRepairsLoss(t *testing.T) {
	a, b := newTestSFU(t).NewRouter("m"), newTestSFU(t).NewRouter("m")
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	pub := newPionClient(t, a, "ada")
	cam := pub.publish([]Source{SourceCamera}, false)["camera/"]
	sub := newPionClient(t, b, "bob")
	l := link(t, a, b, "A", "B")

	var warm uint32
	waitFor(t, 30*time.Second, "the subscriber on B never received the camera", func() bool {
		if err := cam.write(testPayload(warmUp+warm), 3000); err != nil {
			t.Fatal(err)
		}
		warm++
		return len(sub.got(webrtc.RTPCodecTypeVideo)) > 0
	})
	rt := l.out.relayed()
	if len(rt) != 1 {
		t.Fatalf("%d tracks relayed, want 1", len(rt))
	}
	s := rt[0].senders[0]
	bound := s.binding.Load()
	lossy := &lossyWriter{TrackLocalWriter: bound.writer, seen: make(map[uint16]bool)}
	s.binding.Store(&binding{ssrc: bound.ssrc, payloadType: bound.payloadType, writer: lossy})

	const n = 300
	sent := make(map[uint32][]byte, n)
	for i := range uint32(n) {
		sent[i] = testPayload(i)
		if err := cam.write(sent[i], 3000); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // pacing
	}
	waitFor(t, 20*time.Second, "packets lost on the relay were not repaired", func() bool {
		got := sub.got(webrtc.RTPCodecTypeVideo)
		for i := range sent {
			if got[i] == nil {
				return false
			}
		}
		return true
	})
	got := sub.got(webrtc.RTPCodecTypeVideo)
	for i, p := range sent {
		if !bytes.Equal(got[i], p) {
			t.Fatalf("packet %d: payload changed on the way", i)
		}
	}
	if lossy.lost.Load() < n/10-1 || s.resent.Load() < lossy.lost.Load() {
		t.Fatalf("%d packets lost on the relay, %d sent again", lossy.lost.Load(), s.resent.Load())
	}
	t.Logf("%d packets lost on the relay, %d sent again from A's cache; all %d arrived", lossy.lost.Load(), s.resent.Load(), n)
}

// TestRelayBoundsWhatAPeerNodeAsks: another node asking for one packet
// again and again gets it at most maxResends times, and an offer with
// more media sections than a node sends is refused before it is applied.
func TestRelayBoundsWhatAPeerNodeAsks(t *testing.T) {
	up, l := benchUpTrack()
	w := &discardWriter{}
	s := &relaySender{up: up, layer: 0}
	s.binding.Store(&binding{ssrc: 7, payloadType: 96, writer: w})
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 42, Timestamp: 9000, SSRC: l.ssrc, Marker: true},
		Payload: []byte{0x10, 1, 2, 3}}).Marshal()
	up.route(l, raw, time.Now().UnixNano())
	for range 3 * maxResends {
		s.retransmit(&rtcp.TransportLayerNack{MediaSSRC: 7, Nacks: []rtcp.NackPair{{PacketID: 42}}})
	}
	if got := s.resent.Load(); got != maxResends {
		t.Errorf("a packet asked for %d times was sent again %d times, want %d", 3*maxResends, got, maxResends)
	}

	r := newTestSFU(t).NewRouter("m")
	t.Cleanup(r.Close)
	in, err := r.RelayFrom("A", discardSignals{})
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]string, maxRelayMLines+1)
	for i := range lines {
		lines[i] = fmt.Sprintf("video %d sendonly", i)
	}
	if err := in.HandleOffer(offerSDP(lines...)); !errors.Is(err, ErrBadSDP) {
		t.Fatalf("an offer of %d media sections: %v, want refused", len(lines), err)
	}
	if in.pc.RemoteDescription() != nil {
		t.Fatal("the refused offer was applied")
	}
}

// discardSignals is a relay's signaller that goes nowhere.
type discardSignals struct{}

func (discardSignals) Description(string) {}
func (discardSignals) Closed()            {}
