package sfu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// simLayers are a browser's three camera encodings: size, packets in a
// delta frame, and a key frame's size in packets.
var simLayers = [maxLayers]struct {
	width, height int
	packets, key  int
	rate          uint64 // about what the packets above make at 30 fps
}{
	{320, 180, 1, 3, 150e3},
	{640, 360, 2, 8, 500e3},
	{1280, 720, 7, 24, 1700e3},
}

// plis counts the keyframe requests the SFU sends a publisher, by SSRC;
// the throttle's timers call it from their own goroutines.
type plis struct{ n [maxLayers]atomic.Uint64 }

func (c *plis) WriteRTCP(pkts []rtcp.Packet) error {
	for _, p := range pkts {
		if pli, ok := p.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC >= 100 && pli.MediaSSRC < 100+maxLayers {
			c.n[pli.MediaSSRC-100].Add(1)
		}
	}
	return nil
}

// simPacket is one packet of a simulated VP8 frame of layer l: the first
// packet of a frame carries the payload descriptor's start bit and, on a
// key frame, the key frame header with the layer's size; every packet
// carries, after byte 12, its layer, whether its frame is a key frame, the
// frame's number and its own index in the frame.
func simPacket(l int, seq uint16, ts uint32, frame uint32, idx int, key, last bool) []byte {
	p := make([]byte, 200)
	p[1] = 0x01 // delta frame
	if idx == 0 {
		p[0] = 0x10 // start of partition 0
		if key {
			p[1] = 0x00
			copy(p[4:], []byte{0x9d, 0x01, 0x2a})
			binary.LittleEndian.PutUint16(p[7:], uint16(simLayers[l].width))
			binary.LittleEndian.PutUint16(p[9:], uint16(simLayers[l].height))
		}
	}
	p[12] = byte(l)
	if key {
		p[13] = 1
	}
	binary.BigEndian.PutUint32(p[14:], frame)
	p[18] = byte(idx)
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: uint32(100 + l), Marker: last}, Payload: p}).Marshal()
	return raw
}

// TestSwitchesOnlyAtTheNewLayersKeyFrame runs three layers of multi-packet
// frames, their packets interleaved as they arrive from a browser, key
// frames at each layer's own times and on request, through the layer
// chooser while the subscriber's tile changes size every 1.5 s (60 s of
// simulated time). What the subscriber receives must be one stream whose
// sequence numbers run on by one and whose timestamps never go back or
// jump, and in which every change of layer starts with the first packet of
// a key frame of the new layer: no delta frame of a layer before its key
// frame, no packet of the old layer after it. While the tile is hidden
// (0×0) nothing is forwarded; the stream resumes with a key frame, its
// timestamps moved on by the time it was hidden.
func TestSwitchesOnlyAtTheNewLayersKeyFrame(t *testing.T) {
	up, layers, d, rec := simulcastTrack(t)
	fb := &plis{}
	up.feedback = fb
	defer up.close()
	rng := rand.New(rand.NewPCG(1, 2))
	tiles := [][2]int32{{300, 170}, {640, 360}, {624, 569}, {0, 0}, {1920, 1080}, {480, 270}}
	seq := [maxLayers]uint16{100, 30000, 65000}
	ts := [maxLayers]uint32{1000, 2e9, 4294000000}
	var asked [maxLayers]uint64
	now := int64(time.Hour)
	const frames = 30 * 60
	var hiddenAt [frames]bool
	for f := uint32(0); f < frames; f++ {
		now += int64(time.Second / 30)
		hiddenAt[f] = d.hidden.Load()
		// Each layer's frame, its packets interleaved with the others'.
		var key [maxLayers]bool
		var n [maxLayers]int
		for l := range layers {
			ts[l] += 3000
			r := fb.n[l].Load()
			key[l] = (int(f)+l*29)%90 == 0 || r != asked[l]
			asked[l] = r
			n[l] = simLayers[l].packets
			if key[l] {
				n[l] = simLayers[l].key
			}
		}
		for i := 0; i < simLayers[2].key; i++ {
			for l := range layers {
				if i < n[l] {
					up.route(layers[l], simPacket(l, seq[l], ts[l], f, i, key[l], i == n[l]-1), now+int64(i)*int64(time.Millisecond/4))
					seq[l]++
				}
			}
		}
		if f%15 == 14 {
			up.measure(chooseInterval.Seconds())
			d.tick(now)
		}
		if f%45 == 44 {
			tile := tiles[rng.IntN(len(tiles))]
			d.hidden.Store(tile[0] == 0)
			d.maxWidth.Store(tile[0])
			d.maxHeight.Store(tile[1])
			d.retarget(now)
		}
	}

	if len(rec.pkts) == 0 {
		t.Fatal("nothing forwarded")
	}
	switches, resumed := 0, 0
	for i, p := range rec.pkts {
		layer, key, idx := int(p.Payload[12]), p.Payload[13] == 1, int(p.Payload[18])
		frame := binary.BigEndian.Uint32(p.Payload[14:])
		if i == 0 {
			if !key || idx != 0 {
				t.Fatalf("the first packet forwarded is packet %d of a frame (key %v)", idx, key)
			}
			continue
		}
		if hiddenAt[frame] {
			t.Errorf("packet %d: frame %d forwarded while the tile was hidden", i, frame)
		}
		prev := rec.pkts[i-1]
		prevLayer, prevFrame := int(prev.Payload[12]), binary.BigEndian.Uint32(prev.Payload[14:])
		if frame > prevFrame+1 {
			resumed++
			if !key || idx != 0 || !hiddenAt[prevFrame+1] {
				t.Errorf("packet %d: frames %d to %d skipped (hidden %v), then packet %d of a frame (key frame %v)",
					i, prevFrame+1, frame-1, hiddenAt[prevFrame+1], idx, key)
			}
		}
		if layer != prevLayer {
			switches++
			if !key || idx != 0 {
				t.Errorf("packet %d: switched from layer %d to %d on packet %d of a frame (key frame %v)", i, prevLayer, layer, idx, key)
			}
		}
		if p.SequenceNumber != prev.SequenceNumber+1 {
			t.Errorf("packet %d: sequence number %d after %d", i, p.SequenceNumber, prev.SequenceNumber)
		}
		// The timestamp moves on with the frames' time: by a frame's
		// 3000 ticks from one frame to the next, by about the time skipped
		// after a pause.
		dt, want := p.Timestamp-prev.Timestamp, 3000*(frame-prevFrame)
		switch {
		case layer == prevLayer && frame == prevFrame:
			if dt != 0 {
				t.Errorf("packet %d: timestamp moved by %d within a frame", i, dt)
			}
		case dt == 0 || dt > want+2*3000 || dt+3000 < want:
			t.Errorf("packet %d: timestamp moved by %d from the last frame, %d frames earlier (layer %d to %d)", i, int32(dt), frame-prevFrame, prevLayer, layer)
		}
	}
	if d.switches.Load() != uint64(switches) {
		t.Errorf("the DownTrack counted %d switches, the subscriber saw %d", d.switches.Load(), switches)
	}
	// The tile changed 39 times among six sizes: the test means nothing
	// unless the stream did switch, many times.
	if switches < 10 {
		t.Errorf("only %d switches in %d packets", switches, len(rec.pkts))
	}
	if resumed == 0 {
		t.Error("the tile was never hidden and shown again")
	}
	t.Logf("%d packets forwarded, %d layer switches, %d resumptions, %d target changes", len(rec.pkts), switches, resumed, d.targetChanges.Load())
}

// flapSim drives one subscriber's layer choice for a while, with realistic
// measurement noise: each layer's bitrate varies by up to ±30 % from one
// period to the next. The subscriber's current layer follows its target at
// the next tick, as it does once the requested key frame arrives.
type flapSim struct {
	t      *testing.T
	up     *UpTrack
	layers []*layer
	d      *DownTrack
	rng    *rand.Rand
	now    int64
	// history of the forwarded layer, one entry per tick
	history []int
}

func newFlapSim(t *testing.T, w, h int32) *flapSim {
	up, layers, d, _ := simulcastTrack(t)
	t.Cleanup(func() { up.close() })
	s := &flapSim{t: t, up: up, layers: layers, d: d, rng: rand.New(rand.NewPCG(3, 4)), now: int64(time.Hour)}
	for i, l := range layers {
		l.width.Store(int32(simLayers[i].width))
		l.height.Store(int32(simLayers[i].height))
	}
	d.peer.downList.Store(&[]*DownTrack{d})
	d.maxWidth.Store(w)
	d.maxHeight.Store(h)
	d.current.Store(d.target.Load())
	return s
}

// period runs one choice period; remb, if not nil, gives the REMB the
// subscriber sends in it (0: none).
func (s *flapSim) period(remb func(s *flapSim) uint64, nackFraction float64) {
	s.now += int64(chooseInterval)
	for i, l := range s.layers {
		noise := 0.7 + 0.6*s.rng.Float64()
		bytes := float64(simLayers[i].rate) * noise * chooseInterval.Seconds() / 8
		l.bytes.Add(uint64(bytes))
		pkts := uint64(bytes / 1100)
		l.packets.Add(pkts)
		l.lastPacket.Store(s.now)
	}
	s.up.measure(chooseInterval.Seconds())
	if cur := s.d.current.Load(); nackFraction > 0 && cur >= 0 {
		s.d.nacked.Add(uint64(nackFraction * float64(s.layers[cur].period)))
	}
	if remb != nil {
		if e := remb(s); e > 0 {
			s.d.noteEstimate(e)
		}
	}
	s.d.tick(s.now)
	s.d.current.Store(s.d.target.Load()) // the key frame came
	s.history = append(s.history, int(s.d.current.Load()))
}

// changes counts the changes of layer in the history from tick from on.
func (s *flapSim) changes(from int) int {
	n := 0
	for i := max(from, 1); i < len(s.history); i++ {
		if s.history[i] != s.history[i-1] {
			n++
		}
	}
	return n
}

// libwebrtcREMB is what a libwebrtc receiver's estimate does on a clean
// path: it grows by 8 % a second from the first rate it saw, capped at 1.5
// times what it receives plus 10 kbit/s, and is sent every second.
func libwebrtcREMB() func(s *flapSim) uint64 {
	var est float64
	return func(s *flapSim) uint64 {
		received := float64(s.layers[s.d.current.Load()].bitrate.Load())
		if est == 0 {
			est = received
		}
		est = min(est*math.Sqrt(1.08), max(est, 1.5*received+10e3))
		if len(s.history)%2 == 1 {
			return 0
		}
		return uint64(est)
	}
}

// TestLayerDoesNotFlap: a tile that needs the top layer gets it and keeps
// it for 30 s on a clean path, whatever the REMB does as long as it does
// not say the path is short: none at all, one capped by what the
// subscriber receives, one oscillating around the top layer's rate. At
// most two changes of layer in 30 s.
func TestLayerDoesNotFlap(t *testing.T) {
	top := float64(simLayers[2].rate)
	rembs := map[string]func() func(s *flapSim) uint64{
		"no REMB":                 func() func(s *flapSim) uint64 { return nil },
		"REMB capped by the rate": libwebrtcREMB,
		"REMB oscillating ±20 % around the top layer's rate": func() func(s *flapSim) uint64 {
			return func(s *flapSim) uint64 {
				return uint64(top * (1 + 0.2*math.Sin(float64(len(s.history))/3)))
			}
		},
		// libwebrtc's AIMD on a path that carries just the top layer: up
		// by 8 % a second, down to 0.85 of it at each overuse.
		"REMB sawtooth at the top layer's rate": func() func(s *flapSim) uint64 {
			est := top
			return func(s *flapSim) uint64 {
				if est *= math.Sqrt(1.08); est > 1.1*top {
					est = 0.85 * top
				}
				return uint64(est)
			}
		},
	}
	for _, tile := range [][2]int32{{624, 569}, {1248, 1138}, {1280, 720}} {
		for name, remb := range rembs {
			t.Run(fmt.Sprintf("%dx%d %s", tile[0], tile[1], name), func(t *testing.T) {
				s := newFlapSim(t, tile[0], tile[1])
				r := remb()
				for range 60 { // 30 s
					s.period(r, 0)
				}
				if n := s.changes(0); n > 2 {
					t.Errorf("tile %v: %d changes of layer in 30 s: %v", tile, n, s.history)
				}
				if last := s.history[len(s.history)-1]; last != 2 {
					t.Errorf("tile %v: ends on layer %d: %v", tile, last, s.history)
				}
			})
		}
	}
}

// TestLayerFollowsThePath: a real bandwidth signal moves the subscriber
// down at once; it goes back up only after the path has been calm for a
// while, and a path that keeps failing is tried again less and less often.
func TestLayerFollowsThePath(t *testing.T) {
	top := float64(simLayers[2].rate)
	t.Run("a REMB that falls below what the path carries", func(t *testing.T) {
		s := newFlapSim(t, 1280, 720)
		for range 4 {
			s.period(func(*flapSim) uint64 { return uint64(1.2 * top) }, 0)
		}
		// The path now carries 800 kbit/s: libwebrtc's estimate falls to
		// 0.85 of what arrives, and stays about there while it is sent
		// less than the path carries, then grows capped by what it gets.
		path := 800e3
		remb := func(s *flapSim) uint64 {
			got := min(path, float64(s.layers[s.d.current.Load()].bitrate.Load()))
			if s.d.current.Load() == 2 {
				return uint64(0.85 * got)
			}
			return uint64(min(1.5*got+10e3, path))
		}
		s.period(remb, 0)
		s.period(remb, 0)
		if got := s.history[len(s.history)-1]; got != 1 {
			t.Fatalf("layer %d a second after the estimate fell to %d, want 1: %v", got, uint64(0.85*path), s.history)
		}
		start := len(s.history)
		for range 240 { // 2 minutes
			s.period(remb, 0)
		}
		// Each try of the top layer fails and costs two changes; tries
		// come after 8, 16, 32, 64, 64 s...
		if n := s.changes(start - 1); n > 8 {
			t.Errorf("%d changes in 2 minutes on a short path: %v", n, s.history)
		}
		if s.d.choice.backoff != maxBackoff {
			t.Errorf("back-off %v after repeated failures, want %v", s.d.choice.backoff, maxBackoff)
		}
	})
	t.Run("heavy loss, then a clean path", func(t *testing.T) {
		s := newFlapSim(t, 1280, 720)
		for range 4 {
			s.period(nil, 0)
		}
		// A tenth lost over the last 2 s: with 30 % lost, in the second
		// period.
		s.period(nil, 0.3)
		s.period(nil, 0.3)
		if got := s.history[len(s.history)-1]; got != 1 {
			t.Fatalf("layer %d after 1 s of heavy loss, want 1: %v", got, s.history)
		}
		lossEnd := len(s.history)
		for range 3 {
			s.period(nil, 0.3)
		}
		// One step per burst, then one more as the loss goes on.
		if got := s.history[len(s.history)-1]; got > 1 {
			t.Fatalf("layer %d while the loss goes on: %v", got, s.history)
		}
		for range 40 {
			s.period(nil, 0)
		}
		up := -1
		for i := lossEnd; i < len(s.history); i++ {
			if s.history[i] == 2 {
				up = i
				break
			}
		}
		if up < 0 {
			t.Fatalf("never back on the top layer after the loss: %v", s.history)
		}
		if waited := time.Duration(up-lossEnd) * chooseInterval; waited < minBackoff {
			t.Errorf("back on the top layer %v after the loss began, want at least %v: %v", waited, minBackoff, s.history)
		}
		if n := s.changes(lossEnd); n > 3 {
			t.Errorf("%d changes after the loss: %v", n, s.history)
		}
	})
	t.Run("the tile shrinks and grows under a REMB capped by the rate", func(t *testing.T) {
		s := newFlapSim(t, 320, 180)
		s.period(nil, 0)
		remb := libwebrtcREMB()
		for range 20 {
			s.period(remb, 0)
		}
		if s.history[0] != 0 || s.changes(0) != 0 {
			t.Fatalf("layers %v for a 320×180 tile, want 0 at once", s.history)
		}
		// The estimate is now at most 1.5 times the quarter layer's rate,
		// far below the top layer's: it does not stop the subscriber
		// from getting the larger tile's layer at once.
		if e := s.d.estimate.Load(); e*2 > simLayers[2].rate {
			t.Fatalf("the estimate is %d", e)
		}
		s.d.maxWidth.Store(1280)
		s.d.maxHeight.Store(720)
		s.period(remb, 0)
		if got := s.history[len(s.history)-1]; got != 2 {
			t.Fatalf("layer %d for a 1280×720 tile on a clean path, want 2 at once: %v", got, s.history)
		}
	})
}
