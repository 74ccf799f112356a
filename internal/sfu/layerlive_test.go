package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// A simulcast layer is live while it sends media. When a browser's uplink
// is short, libwebrtc stops encoding its upper layers but may go on
// probing the uplink with padding-only RTP packets on their SSRCs (no
// RTX is negotiated): seen from Chromium after a cut path came back, its
// 720p layer sent 3,000 more packets in 20 s and not one frame. A layer
// counted live for those keeps its subscribers on it, asking for a key
// frame that does not come, until the encoder resumes it. Nor do the
// layer's old packets sent again make it live: the SFU NACKs what a
// publisher's uplink lost, and a paused layer answers from its history.

// What a layer sends in one frame period of a liveSim.
const (
	sendMedia   = iota // a frame
	sendPadding        // padding-only packets
	sendOld            // its last frame's packets again, and padding
	sendNothing
)

// liveSim is a three-layer VP8 publisher in simulated time (30 frames a
// second) with one subscriber whose tile is large (it wants the top
// layer): each layer's next frame is a key frame when a PLI for it came
// since its last, as from a browser; the layer chooser ticks every
// chooseInterval.
type liveSim struct {
	t      *testing.T
	up     *UpTrack
	layers []*layer
	d      *DownTrack
	rec    *recorder
	clock  *fakeClock
	pub    *plis
	seq    [maxLayers]uint16
	ts     [maxLayers]uint32
	asked  [maxLayers]uint64
	sent   [maxLayers]int      // frames sent
	last   [maxLayers][][]byte // the packets of each layer's last frame
	tsn    uint16              // transport-wide sequence number
	frame  int
	now    int64
}

// newLiveSimOnTop is a simulation whose layers have all sent media for
// 2 s, so that the subscriber is on the top layer.
func newLiveSimOnTop(t *testing.T) *liveSim {
	t.Helper()
	s := newLiveSim(t)
	s.run(2*time.Second, [maxLayers]int{sendMedia, sendMedia, sendMedia}, nil)
	if cur := s.d.current.Load(); cur != 2 {
		t.Fatalf("the subscriber gets layer %d with every layer sending, want 2", cur)
	}
	return s
}

func newLiveSim(t *testing.T) *liveSim {
	up, layers, d, rec := simulcastTrack(t)
	c := newFakeClock()
	pub := &plis{}
	up.clock, up.feedback = c, pub
	t.Cleanup(func() { up.close() })
	for i, l := range layers {
		l.width.Store(int32(simLayers[i].width))
		l.height.Store(int32(simLayers[i].height))
	}
	d.maxWidth.Store(1280)
	d.maxHeight.Store(720)
	return &liveSim{t: t, up: up, layers: layers, d: d, rec: rec, clock: c, pub: pub,
		seq: [maxLayers]uint16{100, 30000, 65000}, ts: [maxLayers]uint32{1000, 2e9, 4294000000}}
}

// paddingPacket is a padding-only packet as libwebrtc probes with: the
// layer's next sequence number, the timestamp of its last frame, a
// transport-wide sequence number extension, no payload, and size bytes of
// padding (the last of them its length).
func paddingPacket(t *testing.T, ssrc uint32, seq uint16, ts uint32, tsn uint16, size byte) []byte {
	t.Helper()
	h := rtp.Header{Version: 2, Padding: true, PaddingSize: size, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}
	if err := h.SetExtension(3, []byte{byte(tsn >> 8), byte(tsn)}); err != nil {
		t.Fatal(err)
	}
	raw, err := (&rtp.Packet{Header: h, PaddingSize: size}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if raw[0]&0x20 == 0 || int(raw[len(raw)-1]) != int(size) || len(raw) != h.MarshalSize()+int(size) {
		t.Fatalf("not a padding-only packet: %x", raw)
	}
	return raw
}

// step runs one frame period: each layer sends what what says, then the
// layer chooser ticks if a period ended.
func (s *liveSim) step(what [maxLayers]int) {
	s.frame++
	s.now = s.clock.now.Add(time.Second / 30).UnixNano()
	s.clock.advance(time.Unix(0, s.now))
	for l, w := range what {
		s.send(l, w)
	}
	if s.frame%15 == 0 {
		s.up.measure(chooseInterval.Seconds())
		s.d.tick(s.now)
	}
}

// send has layer l send what in the current frame period.
func (s *liveSim) send(l, what int) {
	switch what {
	case sendMedia:
		s.ts[l] += 3000
		r := s.pub.n[l].Load()
		key := s.sent[l] == 0 || r != s.asked[l]
		s.asked[l] = r
		n := simLayers[l].packets
		if key {
			n = simLayers[l].key
		}
		s.last[l] = s.last[l][:0]
		for i := range n {
			raw := simPacket(l, s.seq[l], s.ts[l], uint32(s.frame), i, key, i == n-1)
			s.up.route(s.layers[l], raw, s.now)
			s.last[l] = append(s.last[l], raw)
			s.seq[l]++
		}
		s.sent[l]++
	case sendOld:
		for _, raw := range s.last[l] {
			s.up.route(s.layers[l], raw, s.now)
		}
		s.send(l, sendPadding)
	case sendPadding:
		// About 90 a second, 224 bytes each: 160 kbit/s of probing.
		for range 3 {
			s.tsn++
			s.up.route(s.layers[l], paddingPacket(s.t, uint32(100+l), s.seq[l], s.ts[l], s.tsn, 224), s.now)
			s.seq[l]++
		}
	}
}

// run steps for dur with each layer sending what what says, calling each
// (if not nil) after every step.
func (s *liveSim) run(dur time.Duration, what [maxLayers]int, each func()) {
	for range int(dur / (time.Second / 30)) {
		s.step(what)
		if each != nil {
			each()
		}
	}
}

// checkStream fails the test unless what the subscriber got is one stream
// whose sequence numbers run on by one: padding-only packets are forwarded
// on the layer the subscriber gets, as they came (no payload, their
// padding kept), and a switch of layer leaves no gap.
func (s *liveSim) checkStream() (padding int) {
	s.t.Helper()
	for i, p := range s.rec.pkts {
		if i > 0 && p.SequenceNumber != s.rec.pkts[i-1].SequenceNumber+1 {
			s.t.Fatalf("packet %d: sequence number %d after %d", i, p.SequenceNumber, s.rec.pkts[i-1].SequenceNumber)
		}
		if len(p.Payload) == 0 {
			if !p.Padding || p.Header.PaddingSize != 224 {
				s.t.Fatalf("packet %d: no payload, padding %v (%d bytes)", i, p.Padding, p.Header.PaddingSize)
			}
			padding++
		}
	}
	return padding
}

// TestLayerSendingOnlyPaddingIsNotLive: the top layer's frames stop while
// it goes on sending padding-only packets (with header extensions, as
// libwebrtc probes). Once layerTimeout has passed without media it is not
// live (liveLayers, liveCount) and the subscriber that got it moves down
// to the highest layer that has frames, at that layer's key frame (asked
// for); the padding it was forwarded meanwhile went out as padding, in
// the stream's sequence. When the top layer's frames resume, it is live
// again and the subscriber goes back up.
func TestLayerSendingOnlyPaddingIsNotLive(t *testing.T) {
	s := newLiveSimOnTop(t)

	paused := s.now
	plis := s.pub.n[1].Load()
	movedAt := int64(0)
	s.run(6*time.Second, [maxLayers]int{sendMedia, sendMedia, sendPadding}, func() {
		if movedAt == 0 && s.d.current.Load() == 1 {
			movedAt = s.now
		}
	})
	live, lowest, highest := s.up.liveLayers(s.now)
	if live[2] != nil || lowest != 0 || highest != 1 {
		t.Errorf("after %v of padding alone on layer 2: live %v, lowest %d, highest %d, want layers 0 and 1",
			time.Duration(s.now-paused), [maxLayers]bool{live[0] != nil, live[1] != nil, live[2] != nil}, lowest, highest)
	}
	if n := s.up.liveCount(s.now); n != 2 {
		t.Errorf("liveCount %d, want 2", n)
	}
	if tg := s.d.target.Load(); tg != 1 {
		t.Errorf("target layer %d, want 1", tg)
	}
	if s.pub.n[1].Load() == plis {
		t.Error("no key frame of layer 1 was asked for")
	}
	if movedAt == 0 {
		t.Fatalf("the subscriber still gets layer %d %v after layer 2's frames stopped", s.d.current.Load(), time.Duration(s.now-paused))
	}
	// layerTimeout, then the next tick and layer 1's key frame.
	if took := time.Duration(movedAt - paused); took > layerTimeout+chooseInterval+keyframeInterval {
		t.Errorf("moved to layer 1 %v after layer 2's frames stopped, want within %v", took, layerTimeout+chooseInterval+keyframeInterval)
	} else {
		t.Logf("moved to layer 1 %v after layer 2's frames stopped", took)
	}
	if padding := s.checkStream(); padding == 0 {
		t.Error("no padding-only packet was forwarded while the subscriber got layer 2")
	}
	last := s.rec.pkts[len(s.rec.pkts)-1]
	if len(last.Payload) == 0 || last.Payload[12] != 1 {
		t.Errorf("the last packet forwarded is not layer 1's: %v", last.Header)
	}

	// The top layer's frames resume: live at its first frame.
	s.run(3*time.Second, [maxLayers]int{sendMedia, sendMedia, sendMedia}, nil)
	if live, _, _ := s.up.liveLayers(s.now); live[2] == nil {
		t.Error("layer 2 not live with its frames back")
	}
	if cur := s.d.current.Load(); cur != 2 {
		t.Errorf("the subscriber gets layer %d after layer 2's frames resumed, want 2", cur)
	}
	s.checkStream()
}

// TestLayerWithMediaStaysLive: a layer whose frames go on stays live,
// however much padding it sends besides (padding-only packets between
// its frames, padding in its media packets) and however few its frames
// are (one a second, as a still screen encodes), and its subscriber stays
// on it.
func TestLayerWithMediaStaysLive(t *testing.T) {
	cases := []struct {
		name string
		// top is what layer 2 sends in frame period f (30 a second).
		top func(s *liveSim, f int) int
	}{
		{"frames and padding-only packets", func(_ *liveSim, f int) int {
			if f%2 == 0 {
				return sendMedia
			}
			return sendPadding
		}},
		{"one frame a second, padding between", func(_ *liveSim, f int) int {
			if f%30 == 0 {
				return sendMedia
			}
			return sendPadding
		}},
		{"media packets that carry padding", func(s *liveSim, f int) int {
			s.ts[2] += 3000
			s.tsn++
			h := rtp.Header{Version: 2, Padding: true, PaddingSize: 100, PayloadType: 96, SequenceNumber: s.seq[2], Timestamp: s.ts[2], SSRC: 102, Marker: true}
			_ = h.SetExtension(3, []byte{byte(s.tsn >> 8), byte(s.tsn)})
			payload := simPacket(2, 0, 0, uint32(f), 0, false, true)[12:]
			raw, err := (&rtp.Packet{Header: h, Payload: payload, PaddingSize: 100}).Marshal()
			if err != nil {
				s.t.Fatal(err)
			}
			s.up.route(s.layers[2], raw, s.now)
			s.seq[2]++
			return sendNothing
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newLiveSim(t)
			s.run(2*time.Second, [maxLayers]int{sendMedia, sendMedia, sendMedia}, nil)
			if cur := s.d.current.Load(); cur != 2 {
				t.Fatalf("the subscriber gets layer %d with every layer sending, want 2", cur)
			}
			for f := range 30 * 6 {
				s.step([maxLayers]int{sendMedia, sendMedia, sendNothing})
				// Routed after the others', at the same time.
				s.send(2, tc.top(s, f))
				if live, _, highest := s.up.liveLayers(s.now); live[2] == nil || highest != 2 {
					t.Fatalf("%v into it: layer 2 not live", time.Duration(f+1)*time.Second/30)
				}
				if tg, cur := s.d.target.Load(), s.d.current.Load(); tg != 2 || cur != 2 {
					t.Fatalf("%v into it: target %d, current %d, want 2", time.Duration(f+1)*time.Second/30, tg, cur)
				}
			}
			s.checkStream()
		})
	}
}

// TestLayerSendingOnlyOldPacketsIsNotLive: the top layer's frames stop;
// it goes on sending padding, and its last frame's packets again and
// again (as a paused libwebrtc layer answers the SFU's NACKs from its
// history). They carry payload but no new frame: after layerTimeout the
// layer is not live and the subscriber moves down.
func TestLayerSendingOnlyOldPacketsIsNotLive(t *testing.T) {
	s := newLiveSimOnTop(t)
	paused := s.now
	s.run(4*time.Second, [maxLayers]int{sendMedia, sendMedia, sendOld}, nil)
	if live, _, highest := s.up.liveLayers(s.now); live[2] != nil || highest != 1 {
		t.Errorf("layer 2 live %v after its frames stopped, sending only old packets and padding", time.Duration(s.now-paused))
	}
	if tg, cur := s.d.target.Load(), s.d.current.Load(); tg != 1 || cur != 1 {
		t.Errorf("target %d, current %d %v after layer 2's frames stopped, want 1", tg, cur, time.Duration(s.now-paused))
	}
}
