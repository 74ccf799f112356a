package sfu

import (
	"encoding/binary"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func TestRouteDoesNotAllocate(t *testing.T) {
	up, l := benchUpTrack()
	for i := 0; i < 10; i++ {
		d := newDownTrack(up, connectedPeer(""))
		d.binding.Store(&binding{ssrc: uint32(i + 1), payloadType: 96, writer: &discardWriter{}})
		up.attach(d)
	}
	raw := benchPacket(1000)
	seq := uint16(0)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		binary.BigEndian.PutUint16(raw[2:], seq)
		up.route(l, raw, int64(seq)*1000)
	})
	if allocs != 0 {
		t.Errorf("route allocates %.1f times per packet, want 0", allocs)
	}
	if got := up.owner.router.sfu.forwardedPackets.Load(); got < 10000 {
		t.Errorf("forwarded %d packets, want at least 10000", got)
	}
}

func TestVP8Keyframe(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		key     bool
	}{
		{"key frame, short descriptor", []byte{0x10, 0x00, 0, 0}, true},
		{"delta frame", []byte{0x10, 0x01, 0, 0}, false},
		{"not the start of a frame", []byte{0x00, 0x00, 0, 0}, false},
		{"start of partition 1", []byte{0x11, 0x00, 0, 0}, false},
		{"15-bit picture ID, key frame", []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
		{"7-bit picture ID, delta", []byte{0x90, 0x80, 0x12, 0x01}, false},
		{"picture ID, TL0PICIDX, TID, key", []byte{0x90, 0xe0, 0x12, 0x05, 0x40, 0x00}, true},
		{"truncated extension", []byte{0x90, 0x80}, false},
		{"empty", nil, false},
		{"descriptor only", []byte{0x10}, false},
	}
	for _, tt := range tests {
		if got := vp8Keyframe(tt.payload); got != tt.key {
			t.Errorf("%s: keyframe = %v, want %v", tt.name, got, tt.key)
		}
	}
	key := []byte{0x10, 0x50, 0x2a, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}
	if w, h, ok := vp8Dimensions(key); !ok || w != 640 || h != 360 {
		t.Errorf("dimensions = %d×%d %v, want 640×360", w, h, ok)
	}
}

// recorder keeps what a DownTrack writes.
type recorder struct{ pkts []rtp.Packet }

func (r *recorder) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	r.pkts = append(r.pkts, rtp.Packet{Header: h.Clone(), Payload: append([]byte(nil), payload...)})
	return len(payload), nil
}

func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }

// simulcastTrack is a VP8 UpTrack with three layers and one subscriber.
func simulcastTrack(t *testing.T) (*UpTrack, []*layer, *DownTrack, *recorder) {
	t.Helper()
	up, _ := benchUpTrack()
	up.simulcast = true
	up.feedback = discardRTCP{}
	var layers []*layer
	for i := 0; i < maxLayers; i++ {
		l := &layer{up: up, index: i, ssrc: uint32(100 + i), cache: newPacketCache(64), batch: &frameBatch{}}
		up.layers[i].Store(l)
		layers = append(layers, l)
	}
	d := newDownTrack(up, connectedPeer(""))
	rec := &recorder{}
	d.binding.Store(&binding{ssrc: 9, payloadType: 100, writer: rec})
	up.attach(d)
	return up, layers, d, rec
}

// discardRTCP is a publisher's PeerConnection that ignores keyframe
// requests.
type discardRTCP struct{}

func (discardRTCP) WriteRTCP([]rtcp.Packet) error { return nil }

// vp8Packet is a one-packet VP8 frame of layer l whose payload names the
// layer and the packet's own sequence number.
func vp8Packet(l int, seq uint16, ts uint32, key bool) []byte {
	p := []byte{0x10, 0x01, byte(l), byte(seq >> 8), byte(seq)}
	if key {
		p[1] = 0x00
	}
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: uint32(100 + l), Marker: true}, Payload: p}).Marshal()
	return raw
}

func TestLayerSwitchOnKeyframeOnly(t *testing.T) {
	up, layers, d, rec := simulcastTrack(t)
	d.target.Store(0)
	// Each layer numbers its packets on its own, far apart.
	base := [maxLayers]uint16{1000, 30000, 65500}
	tsBase := [maxLayers]uint32{5000, 900000, 4294960000}
	now := int64(0)
	send := func(frame int, key [maxLayers]bool) {
		now += 33e6
		for l := 0; l < maxLayers; l++ {
			seq := base[l] + uint16(frame)
			up.route(layers[l], vp8Packet(l, seq, tsBase[l]+uint32(frame)*3000, key[l]), now)
		}
	}
	send(0, [3]bool{false, false, false}) // no key frame: nothing starts
	if len(rec.pkts) != 0 {
		t.Fatalf("forwarded %d packets before a key frame", len(rec.pkts))
	}
	send(1, [3]bool{true, false, false}) // layer 0 starts
	send(2, [3]bool{})
	d.target.Store(2)
	send(3, [3]bool{false, true, false}) // a key frame of another layer: no switch
	send(4, [3]bool{})
	send(5, [3]bool{false, false, true}) // switch to layer 2
	send(6, [3]bool{})
	d.target.Store(1)
	send(7, [3]bool{false, true, false}) // switch down to layer 1
	send(8, [3]bool{})

	// Frame 5 goes out from layer 0 and then, switched, from layer 2.
	wantLayers := []byte{0, 0, 0, 0, 0, 2, 2, 1, 1}
	if len(rec.pkts) != len(wantLayers) {
		t.Fatalf("forwarded %d packets, want %d", len(rec.pkts), len(wantLayers))
	}
	for i, p := range rec.pkts {
		if p.Payload[2] != wantLayers[i] {
			t.Errorf("packet %d from layer %d, want %d", i, p.Payload[2], wantLayers[i])
		}
		if p.SSRC != 9 || p.PayloadType != 100 {
			t.Errorf("packet %d: SSRC %d PT %d, want the subscriber's 9 and 100", i, p.SSRC, p.PayloadType)
		}
		if i == 0 {
			continue
		}
		prev := rec.pkts[i-1]
		if p.SequenceNumber != prev.SequenceNumber+1 {
			t.Errorf("packet %d: sequence number %d after %d", i, p.SequenceNumber, prev.SequenceNumber)
		}
		if dt := p.Timestamp - prev.Timestamp; dt == 0 || dt > 6000 {
			t.Errorf("packet %d: timestamp advanced by %d, want about one frame (3000)", i, dt)
		}
		if wantLayers[i] != wantLayers[i-1] && p.Payload[1]&1 != 0 {
			t.Errorf("packet %d switches layer on a delta frame", i)
		}
	}
	if d.current.Load() != 1 {
		t.Errorf("current layer %d, want 1", d.current.Load())
	}
}

func TestRetransmitFromCache(t *testing.T) {
	up, layers, d, rec := simulcastTrack(t)
	d.target.Store(0)
	now := int64(0)
	for i := 0; i < 4; i++ {
		now += 33e6
		up.route(layers[0], vp8Packet(0, uint16(200+i), uint32(i*3000), i == 0), now)
	}
	d.target.Store(1)
	for i := 0; i < 4; i++ {
		now += 33e6
		up.route(layers[1], vp8Packet(1, uint16(7000+i), uint32(i*3000), i == 0), now)
	}
	if len(rec.pkts) != 8 {
		t.Fatalf("forwarded %d packets, want 8", len(rec.pkts))
	}
	sent := append([]rtp.Packet(nil), rec.pkts...)
	rec.pkts = nil
	// Lose the second packet of each layer, and one never sent.
	first := sent[0].SequenceNumber
	d.retransmit(&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{
		{PacketID: first + 1, LostPackets: 1<<3 | 1<<7},
	}})
	if len(rec.pkts) != 2 {
		t.Fatalf("retransmitted %d packets, want 2", len(rec.pkts))
	}
	for i, idx := range []int{1, 5} {
		got, want := rec.pkts[i], sent[idx]
		if got.SequenceNumber != want.SequenceNumber || got.Timestamp != want.Timestamp || string(got.Payload) != string(want.Payload) {
			t.Errorf("retransmission %d: seq %d ts %d payload %x, want seq %d ts %d payload %x", i,
				got.SequenceNumber, got.Timestamp, got.Payload, want.SequenceNumber, want.Timestamp, want.Payload)
		}
	}
	// A blocked track retransmits nothing.
	rec.pkts = nil
	up.blocked.Store(true)
	d.retransmit(&rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: first + 1}}})
	if len(rec.pkts) != 0 {
		t.Errorf("a blocked track retransmitted %d packets", len(rec.pkts))
	}
}

func TestAudioStartsAtOnce(t *testing.T) {
	up, l := benchUpTrack()
	up.kind = webrtc.RTPCodecTypeAudio
	l.cache, l.batch = nil, nil
	d := newDownTrack(up, connectedPeer(""))
	rec := &recorder{}
	d.binding.Store(&binding{ssrc: 3, payloadType: 111, writer: rec})
	up.attach(d)
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 77, Timestamp: 960}, Payload: []byte{0x78, 1, 2}}).Marshal()
	up.route(l, raw, 1)
	if len(rec.pkts) != 1 || rec.pkts[0].SequenceNumber != 77 || rec.pkts[0].Timestamp != 960 {
		t.Fatalf("got %+v, want the packet unchanged but for SSRC and payload type", rec.pkts)
	}
}

func TestChooseLayer(t *testing.T) {
	const now = int64(100e9)
	sizes := [maxLayers][2]int32{{320, 180}, {640, 360}, {1280, 720}}
	rates := [maxLayers]uint64{150e3, 500e3, 1500e3}
	tests := []struct {
		name    string
		w, h    int32
		hidden  bool
		ceiling int // the path's ceiling; 0 means none (the top)
		dead    int // a layer that stopped sending, -1 for none
		want    int
	}{
		{name: "no size yet: the best", dead: -1, want: 2},
		{name: "small tile", w: 300, h: 200, dead: -1, want: 0},
		{name: "quarter-size tile", w: 320, h: 180, dead: -1, want: 0},
		{name: "within 3/4 of a layer", w: 400, h: 225, dead: -1, want: 0},
		{name: "just over 4/3 of a layer", w: 428, h: 240, dead: -1, want: 1},
		{name: "half-size tile", w: 640, h: 360, dead: -1, want: 1},
		{name: "a tall tile that crops the picture's sides", w: 624, h: 569, dead: -1, want: 2},
		{name: "the same at device pixel ratio 2", w: 1248, h: 1138, dead: -1, want: 2},
		{name: "a wide tile that crops top and bottom", w: 800, h: 200, dead: -1, want: 1},
		{name: "large tile", w: 1920, h: 1080, dead: -1, want: 2},
		{name: "hidden", hidden: true, dead: -1, want: 0},
		{name: "the path's ceiling", w: 1920, h: 1080, ceiling: 1, dead: -1, want: 1},
		{name: "the full layer stopped", w: 1920, h: 1080, dead: 2, want: 1},
		{name: "the quarter layer stopped", w: 100, h: 100, dead: 0, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, layers, d, _ := simulcastTrack(t)
			for i, l := range layers {
				l.width.Store(sizes[i][0])
				l.height.Store(sizes[i][1])
				l.bitrate.Store(rates[i])
				if i != tt.dead {
					l.lastPacket.Store(now - int64(100e6))
				}
			}
			d.maxWidth.Store(tt.w)
			d.maxHeight.Store(tt.h)
			d.hidden.Store(tt.hidden)
			if tt.ceiling > 0 {
				d.choice.ceiling = tt.ceiling
			}
			d.retarget(now)
			if got := int(d.target.Load()); got != tt.want {
				t.Errorf("layer %d, want %d", got, tt.want)
			}
		})
	}
}

// pliCounter is a publisher's PeerConnection as far as keyframe requests go.
type pliCounter struct{ plis chan uint32 }

func (c *pliCounter) WriteRTCP(pkts []rtcp.Packet) error {
	for _, p := range pkts {
		if pli, ok := p.(*rtcp.PictureLossIndication); ok {
			c.plis <- pli.MediaSSRC
		}
	}
	return nil
}

// TestKeyframeRequestsThrottled: a storm of PLIs from subscribers becomes
// one request to the publisher at once and one more when the interval
// ends, for the layer the subscriber gets.
func TestKeyframeRequestsThrottled(t *testing.T) {
	up, _, d, _ := simulcastTrack(t)
	fb := &pliCounter{plis: make(chan uint32, 100)}
	up.feedback = fb
	d.current.Store(1)
	d.target.Store(1)
	start := time.Now()
	for i := 0; i < 50; i++ {
		d.requestKeyframe()
	}
	if got := <-fb.plis; got != 101 {
		t.Fatalf("PLI for SSRC %d, want layer 1's (101)", got)
	}
	if got := <-fb.plis; got != 101 || time.Since(start) < keyframeInterval {
		t.Fatalf("second PLI for SSRC %d after %v, want 101 after at least %v", got, time.Since(start), keyframeInterval)
	}
	if n := len(fb.plis); n != 0 {
		t.Errorf("%d more PLIs for one storm", n)
	}
	up.close() // ends the throttle
}

// connectedPeer is a subscriber whose transport is up, so its DownTracks
// start forwarding.
func connectedPeer(participant string) *Peer {
	p := &Peer{participant: participant, log: slog.New(slog.DiscardHandler)}
	p.connected.Store(true)
	return p
}

// TestNothingStartsBeforeTheTransportIsUp: pion drops what is written to
// a track before DTLS completes, so a DownTrack must not start its stream
// (take a key frame as its first packet) until then; the first key frame
// after the transport comes up starts it.
func TestNothingStartsBeforeTheTransportIsUp(t *testing.T) {
	up, layers, d, rec := simulcastTrack(t)
	d.peer = &Peer{}
	d.target.Store(0)
	up.route(layers[0], vp8Packet(0, 1, 3000, true), 1)
	up.route(layers[0], vp8Packet(0, 2, 6000, false), 2)
	if len(rec.pkts) != 0 || d.current.Load() != -1 {
		t.Fatalf("forwarded %d packets (layer %d) before the transport was up", len(rec.pkts), d.current.Load())
	}
	d.peer.connected.Store(true)
	up.route(layers[0], vp8Packet(0, 3, 9000, false), 3) // a delta: still nothing
	up.route(layers[0], vp8Packet(0, 4, 12000, true), 4)
	up.route(layers[0], vp8Packet(0, 5, 15000, false), 5)
	if len(rec.pkts) != 2 || rec.pkts[0].Payload[1]&1 != 0 {
		t.Fatalf("forwarded %d packets after the transport came up, want 2 starting with the key frame", len(rec.pkts))
	}
}

// TestFrameBatching: a video frame's packets go to each subscriber
// together once its marker arrives, in parts of at most batchPackets; a
// new frame sends what is left of one whose marker was lost; packets late
// for a frame already sent (retransmissions) go at once, alone.
func TestFrameBatching(t *testing.T) {
	up, layers, d, rec := simulcastTrack(t)
	d.target.Store(0)
	l := layers[0]
	pkt := func(seq uint16, ts uint32, key, marker bool) []byte {
		p := []byte{0x10, 0x01, 0, byte(seq >> 8), byte(seq)}
		if key {
			p[1] = 0
		}
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 100, Marker: marker}, Payload: p}).Marshal()
		return raw
	}
	seqs := func() []uint16 {
		var s []uint16
		for _, p := range rec.pkts {
			s = append(s, uint16(p.Payload[3])<<8|uint16(p.Payload[4]))
		}
		return s
	}
	expect := func(step string, want ...uint16) {
		t.Helper()
		if got := seqs(); !slices.Equal(got, want) {
			t.Fatalf("%s: forwarded %v, want %v", step, got, want)
		}
	}
	up.route(l, pkt(1, 3000, true, false), 1)
	up.route(l, pkt(2, 3000, false, false), 2)
	expect("frame in progress")
	up.route(l, pkt(3, 3000, false, true), 3)
	expect("marker", 1, 2, 3)
	up.route(l, pkt(2, 3000, false, false), 4) // a late duplicate of the sent frame
	expect("late for a sent frame", 1, 2, 3, 2)
	up.route(l, pkt(4, 6000, false, false), 5) // its marker (5) is lost
	up.route(l, pkt(6, 9000, false, false), 6)
	expect("new frame flushes the last", 1, 2, 3, 2, 4)
	up.route(l, pkt(5, 6000, false, true), 7) // 5 retransmitted
	expect("retransmission at once", 1, 2, 3, 2, 4, 5)
	for i := uint16(0); i < batchPackets+2; i++ {
		up.route(l, pkt(7+i, 9000, false, i == batchPackets+1), 8)
	}
	got := seqs()
	if len(got) != 6+1+batchPackets+2 || got[6] != 6 || got[len(got)-1] != 7+batchPackets+1 {
		t.Fatalf("a large frame: forwarded %v", got)
	}
	up.blocked.Store(true)
	up.route(l, pkt(100, 12000, false, true), 9)
	if len(rec.pkts) != len(got) {
		t.Fatal("forwarded a frame of a blocked track")
	}
}
