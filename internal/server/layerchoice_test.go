package server_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
)

// browserLayers are a browser's camera encodings at 720p, with the bitrates
// Chromium gives them (about 1.85 Mbit/s in all).
var browserLayers = []struct {
	rid           string
	width, height int
	bitrate       int
}{
	{"q", 320, 180, 150e3},
	{"h", 640, 360, 500e3},
	{"f", 1280, 720, 1200e3},
}

// pumpMTU is the payload size of a packet from pumpBrowserLayer.
const pumpMTU = 1100

// pumpBrowserLayer sends a simulcast layer as a browser's encoder does: 30
// frames a second whose sizes vary by ±30 % around the layer's bitrate, a
// key frame four times as large every 3 s (at each layer's own time) and
// whenever the server asks, each frame in packets of pumpMTU bytes. Every
// packet starts with a VP8 payload descriptor (start bit on a frame's
// first) and carries the layer's index at byte 11; a key frame's first
// packet has the key frame header with the layer's size.
//
// The layer starts after delay: a browser starts with its lowest layer and
// adds the others as its estimate of its uplink grows.
func pumpBrowserLayer(ctx context.Context, lt *client.LocalTrack, index int, seed uint64, delay time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(delay):
	}
	l := browserLayers[index]
	rng := rand.New(rand.NewPCG(seed, uint64(index)))
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	var asked uint64
	mean := float64(l.bitrate) / 30 / 8
	for n := 0; ; n++ {
		size := int(mean * (0.7 + 0.6*rng.Float64()))
		key := n == 0 || (n+index*30)%90 == 0
		if r := lt.KeyframeRequests(); r != asked {
			asked, key = r, true
		}
		if key {
			size *= 4
		}
		frame := make([]byte, max(size, 16))
		for off := 0; off < len(frame); off += pumpMTU {
			frame[off+0] = 0x00 // descriptor: a continuation
			if off+11 < len(frame) {
				frame[off+1] = 0x01
				frame[off+11] = byte(index)
			}
		}
		frame[0] = 0x10 // start of partition 0
		if key {
			frame[1] = 0x00 // P = 0: key frame
			copy(frame[4:], []byte{0x9d, 0x01, 0x2a})
			binary.LittleEndian.PutUint16(frame[7:], uint16(l.width))
			binary.LittleEndian.PutUint16(frame[9:], uint16(l.height))
		}
		if err := lt.WriteFrame(frame, pumpMTU, 3000); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// streamLog records the layer of every video packet a subscriber gets.
type streamLog struct {
	mu    sync.Mutex
	start time.Time
	pkts  []streamPacket
	bytes uint64
}

type streamPacket struct {
	at          time.Duration // since the first packet
	seq         uint16
	layer       byte
	first, key  bool // the first packet of a frame; of a key frame
	payloadSize int
}

func (s *streamLog) observe(rt *client.RemoteTrack) func([]byte) {
	if rt.Kind != "video" {
		return nil
	}
	return func(b []byte) {
		if len(b) < 12+12 || b[0]&0x10 != 0 || b[0]&0x0f != 0 {
			return // no extensions or CSRCs are expected from the SFU
		}
		p := b[12:]
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.start.IsZero() {
			s.start = time.Now()
		}
		s.bytes += uint64(len(b))
		s.pkts = append(s.pkts, streamPacket{
			at: time.Since(s.start), seq: binary.BigEndian.Uint16(b[2:]), layer: p[11],
			first: p[0]&0x10 != 0, key: p[0]&0x10 != 0 && p[1]&1 == 0, payloadSize: len(p),
		})
	}
}

func (s *streamLog) received() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// summary is what a subscriber got over the window [from, to) after its
// first packet: the time on each layer, the layer changes, and whether
// every change started with a key frame. (That the numbering runs on
// across switches is tested in internal/sfu, without a network that may
// lose packets.)
type summary struct {
	onLayer  [3]time.Duration
	changes  int
	timeline []string
	broken   []string
	gaps     int // sequence numbers out of order
}

func (s *streamLog) summarise(from, to time.Duration) summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum summary
	for i, p := range s.pkts {
		if p.at >= to {
			break
		}
		if i > 0 {
			prev := s.pkts[i-1]
			if p.seq != prev.seq+1 {
				sum.gaps++ // a loss on the path, or its repair
			}
			if p.layer != prev.layer && !p.key {
				sum.broken = append(sum.broken, fmt.Sprintf("layer %d to %d on a delta frame at %v", prev.layer, p.layer, p.at))
			}
			if p.at >= from && p.layer < 3 {
				sum.onLayer[p.layer] += p.at - max(prev.at, from)
			}
		}
		if p.at >= from && (len(sum.timeline) == 0 || p.layer != s.pkts[i-1].layer) {
			if len(sum.timeline) > 0 {
				sum.changes++
			}
			sum.timeline = append(sum.timeline, fmt.Sprintf("%d@%.1fs", p.layer, p.at.Seconds()))
		}
	}
	return sum
}

// TestOneToOneGetsTheTopLayer: in a two-person call on loopback, a
// subscriber whose tile needs the top layer gets it within a few seconds
// and keeps it: a 624×569 tile that crops the picture (object-fit: cover,
// as the web client's camera tiles do; 569 device pixels high needs the
// 720-line layer), with no REMB as from pion, and the same tile at device
// pixel ratio 2 with a REMB as libwebrtc makes it (bounded by 1.5 times
// what it receives) while the publisher's layers start one after the
// other, as a browser's do. It measures, over 30 s, the time on each layer and
// the number of layer changes.
func TestOneToOneGetsTheTopLayer(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s per case")
	}
	cases := []struct {
		name          string
		width, height int
		remb          bool
		rampUp        time.Duration // between the start of one layer and the next
	}{
		{"624x569 no REMB", 624, 569, false, 0},
		{"1248x1138 libwebrtc REMB, layers starting 2 s apart", 1248, 1138, true, 2 * time.Second},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, nil)
			id := srv.newMeeting(t)
			pub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Pub", Publish: []string{"camera"}, Simulcast: true})
			cam := pub.Local("camera")
			ctx, stop := context.WithCancel(context.Background())
			var pumping sync.WaitGroup
			for i, l := range browserLayers {
				pumping.Add(1)
				go func() {
					defer pumping.Done()
					pumpBrowserLayer(ctx, cam.Layer(l.rid), i, uint64(ci+1), time.Duration(i)*tc.rampUp)
				}()
			}
			t.Cleanup(func() { stop(); pumping.Wait() })

			log := &streamLog{}
			sub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Sub", Observe: log.observe})
			pubID := pub.Self().ID
			err := sub.WaitFor(waitCtx(t), "the camera track", func() bool { return sub.Track(pubID, "camera") != nil })
			if err != nil {
				t.Fatal(err)
			}
			err = sub.SendRaw(waitCtx(t), map[string]any{"type": "video_size", "participant": pubID, "source": "camera", "width": tc.width, "height": tc.height})
			if err != nil {
				t.Fatal(err)
			}
			err = sub.WaitFor(waitCtx(t), "video", func() bool { return log.received() > 0 })
			if err != nil {
				t.Fatal(err)
			}

			// The measurement window: 30 s from the first packet, during
			// which the subscriber sends a REMB every second.
			track := sub.Track(pubID, "camera")
			var est float64
			last := log.received()
			every := time.NewTicker(time.Second)
			end := time.After(32 * time.Second)
		window:
			for {
				select {
				case <-end:
					break window
				case <-every.C:
					got := log.received()
					rx := float64(got-last) * 8
					last = got
					if !tc.remb {
						continue
					}
					if est == 0 {
						est = rx
					}
					est = min(est*1.08, max(est, 1.5*rx+10e3))
					if err := track.SendREMB(float32(est)); err != nil {
						t.Fatal(err)
					}
				}
			}
			every.Stop()

			sum := log.summarise(2*time.Second, 32*time.Second)
			t.Logf("%s: over 30 s (from 2 s after the first packet): %v on 320×180, %v on 640×360, %v on 1280×720; %d layer changes; layers (layer@time) %v; %d packets out of sequence",
				tc.name, sum.onLayer[0].Round(time.Millisecond), sum.onLayer[1].Round(time.Millisecond), sum.onLayer[2].Round(time.Millisecond), sum.changes, sum.timeline, sum.gaps)
			if len(sum.broken) > 0 {
				t.Errorf("the stream broke: %v", sum.broken[:min(len(sum.broken), 5)])
			}
			total := sum.onLayer[0] + sum.onLayer[1] + sum.onLayer[2]
			if sum.onLayer[2] < total*9/10 {
				t.Errorf("on the top layer for %v of %v", sum.onLayer[2], total)
			}
			if sum.changes > 2 {
				t.Errorf("%d layer changes in 30 s", sum.changes)
			}
		})
	}
}
