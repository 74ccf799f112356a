package server_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
)

// simulcastLayers are the publisher's encodings: rid, size, bytes a frame.
var simulcastLayers = []struct {
	rid           string
	width, height int
	frameBytes    int
}{
	{"q", 320, 180, 200},
	{"h", 640, 360, 500},
	{"f", 1280, 720, 1000},
}

// TestSimulcastLayerPerSubscriber: a publisher sends three layers; each
// subscriber gets the one that fits the size it shows the video at, and
// nothing while it shows no tile (0×0), and moves to another only on a key
// frame of that layer, seeing one stream whose sequence numbers run on
// without a gap and whose timestamps never go back.
func TestSimulcastLayerPerSubscriber(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)

	pub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Ada Lovelace", Publish: []string{"camera"}, Simulcast: true})
	cam := pub.Local("camera")
	if cam.Layer("f") == nil {
		t.Fatal("the camera is not simulcast")
	}
	ctx, stop := context.WithCancel(context.Background())
	var pumping sync.WaitGroup
	for i, l := range simulcastLayers {
		pumping.Add(1)
		go func() {
			defer pumping.Done()
			pumpLayer(ctx, cam.Layer(l.rid), byte(i), l.width, l.height, l.frameBytes)
		}()
	}
	t.Cleanup(func() { stop(); pumping.Wait() })

	small, large := &layerLog{}, &layerLog{}
	smallSub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Small", Observe: small.observe})
	largeSub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Large", Observe: large.observe})
	pubID := pub.Self().ID

	showAt := func(c *client.Client, w, h int) {
		t.Helper()
		err := c.WaitFor(waitCtx(t), "the camera track", func() bool { return c.Track(pubID, "camera") != nil })
		if err != nil {
			t.Fatal(err)
		}
		err = c.SendRaw(waitCtx(t), map[string]any{"type": "video_size", "participant": pubID, "source": "camera", "width": w, "height": h})
		if err != nil {
			t.Fatal(err)
		}
	}
	awaitLayer := func(c *client.Client, log *layerLog, layer byte) {
		t.Helper()
		err := c.WaitFor(waitCtx(t), fmt.Sprintf("%s to get layer %d", c.Self().Name, layer), func() bool {
			return log.lastLayers(20, layer)
		})
		if err != nil {
			t.Fatalf("%v; received layers %v", err, log.layers())
		}
	}

	// A small tile gets the quarter-size layer, a large one the full.
	showAt(smallSub, 300, 200)
	showAt(largeSub, 1280, 720)
	awaitLayer(smallSub, small, 0)
	awaitLayer(largeSub, large, 2)

	// The tiles change: the small one grows, the large one is hidden and
	// gets nothing while Small gets another second of frames, then shows
	// at half size.
	showAt(smallSub, 1920, 1080)
	showAt(largeSub, 0, 0)
	awaitLayer(smallSub, small, 2)
	hiddenAt, smallAt := large.count(), small.count()
	if err := smallSub.WaitFor(waitCtx(t), "another second of frames", func() bool { return small.count() >= smallAt+30 }); err != nil {
		t.Fatal(err)
	}
	if n := large.count() - hiddenAt; n != 0 {
		t.Errorf("the hidden tile got %d packets", n)
	}
	showAt(largeSub, 640, 360)
	awaitLayer(largeSub, large, 1)

	for name, log := range map[string]*layerLog{"Small": small, "Large": large} {
		log.check(t, name)
	}
	// Switches need key frames, but one request a layer per interval
	// serves every subscriber.
	for _, l := range simulcastLayers {
		if n := cam.Layer(l.rid).KeyframeRequests(); n > 20 {
			t.Errorf("layer %s: %d keyframe requests", l.rid, n)
		}
	}
}

// pumpLayer sends 30 frames a second of one packet each on a simulcast
// layer: a VP8 payload descriptor, then a key frame's clear header (with
// the layer's size) or a delta frame's tag, then the layer's index at
// byte 11. Key frames go out every 3 s and whenever the server asks.
func pumpLayer(ctx context.Context, lt *client.LocalTrack, index byte, width, height, size int) {
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	var asked uint64
	for n := 0; ; n++ {
		frame := make([]byte, size)
		frame[0] = 0x10 // descriptor: start of partition 0
		key := n%90 == 0
		if r := lt.KeyframeRequests(); r != asked {
			asked, key = r, true
		}
		if key {
			frame[1] = 0x00 // frame tag: key frame (P = 0)
			copy(frame[4:], []byte{0x9d, 0x01, 0x2a})
			binary.LittleEndian.PutUint16(frame[7:], uint16(width))
			binary.LittleEndian.PutUint16(frame[9:], uint16(height))
		} else {
			frame[1] = 0x01
		}
		frame[11] = index
		if err := lt.WriteFrame(frame, 1200, 3000); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// layerLog records the video packets a subscriber receives.
type layerLog struct {
	mu   sync.Mutex
	pkts []layerPacket
}

type layerPacket struct {
	seq   uint16
	ts    uint32
	layer byte
	key   bool
}

func (l *layerLog) observe(rt *client.RemoteTrack) func([]byte) {
	if rt.Kind != "video" {
		return nil
	}
	return func(b []byte) {
		if len(b) < 12+12 || b[0]&0x10 != 0 || b[0]&0x0f != 0 {
			return // no extensions or CSRCs are expected from the SFU
		}
		p := b[12:]
		l.mu.Lock()
		l.pkts = append(l.pkts, layerPacket{
			seq: binary.BigEndian.Uint16(b[2:]), ts: binary.BigEndian.Uint32(b[4:]),
			layer: p[11], key: p[1]&1 == 0,
		})
		l.mu.Unlock()
	}
}

// count returns how many packets were received.
func (l *layerLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pkts)
}

// lastLayers reports whether the last n packets are all from layer.
func (l *layerLog) lastLayers(n int, layer byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pkts) < n {
		return false
	}
	for _, p := range l.pkts[len(l.pkts)-n:] {
		if p.layer != layer {
			return false
		}
	}
	return true
}

// layers summarises the log as runs of layers, for failure messages.
func (l *layerLog) layers() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.layersLocked()
}

func (l *layerLog) layersLocked() []string {
	var out []string
	for i, p := range l.pkts {
		if i == 0 || p.layer != l.pkts[i-1].layer {
			out = append(out, fmt.Sprintf("%d@%d", p.layer, i))
		}
	}
	return out
}

// check verifies what a subscriber saw: one continuous stream, and every
// change of layer on a key frame.
func (l *layerLog) check(t *testing.T, name string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pkts) == 0 {
		t.Fatalf("%s received nothing", name)
	}
	if !l.pkts[0].key {
		t.Errorf("%s: the first packet is not a key frame", name)
	}
	switches := 0
	for i := 1; i < len(l.pkts); i++ {
		prev, p := l.pkts[i-1], l.pkts[i]
		if p.seq != prev.seq+1 {
			t.Errorf("%s: packet %d has sequence number %d after %d", name, i, p.seq, prev.seq)
		}
		if d := p.ts - prev.ts; d == 0 || d > 1<<31 {
			t.Errorf("%s: packet %d timestamp %d after %d", name, i, p.ts, prev.ts)
		}
		if p.layer != prev.layer {
			switches++
			if !p.key {
				t.Errorf("%s: switched from layer %d to %d on a delta frame (packet %d)", name, prev.layer, p.layer, i)
			}
		}
	}
	if switches == 0 {
		t.Errorf("%s never switched layers", name)
	}
	t.Logf("%s: %d packets, layers (layer@packet) %v", name, len(l.pkts), l.layersLocked())
}

// TestSimulcastLossySubscriberMovesDown: two subscribers show the video
// large; the one whose path loses a fifth of its packets is moved to the
// lowest layer (its NACKs show the loss), the other keeps the full one.
func TestSimulcastLossySubscriberMovesDown(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	pub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Pub", Publish: []string{"camera"}, Simulcast: true})
	cam := pub.Local("camera")
	ctx, stop := context.WithCancel(context.Background())
	var pumping sync.WaitGroup
	for i, l := range simulcastLayers {
		pumping.Add(1)
		go func() {
			defer pumping.Done()
			pumpLayer(ctx, cam.Layer(l.rid), byte(i), l.width, l.height, l.frameBytes)
		}()
	}
	t.Cleanup(func() { stop(); pumping.Wait() })

	clean, lossy := &layerLog{}, &layerLog{}
	lossyConn := newLossyConn(t, 0.2)
	cleanSub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Clean", Observe: clean.observe})
	lossySub := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Lossy", Observe: lossy.observe, API: lossyAPI(lossyConn)})
	pubID := pub.Self().ID
	for _, c := range []*client.Client{cleanSub, lossySub} {
		err := c.WaitFor(waitCtx(t), "the camera track", func() bool { return c.Track(pubID, "camera") != nil })
		if err != nil {
			t.Fatal(err)
		}
		err = c.SendRaw(waitCtx(t), map[string]any{"type": "video_size", "participant": pubID, "source": "camera", "width": 1280, "height": 720})
		if err != nil {
			t.Fatal(err)
		}
	}
	err := lossySub.WaitFor(waitCtx(t), "the lossy subscriber on layer 0", func() bool { return lossy.lastLayers(20, 0) })
	if err != nil {
		t.Fatalf("%v; layers %v", err, lossy.layers())
	}
	err = cleanSub.WaitFor(waitCtx(t), "the clean subscriber on layer 2", func() bool { return clean.lastLayers(20, 2) })
	if err != nil {
		t.Fatalf("%v; layers %v", err, clean.layers())
	}
	// Once on the full layer, the clean subscriber never leaves it.
	runs, full := clean.layers(), 0
	for _, r := range runs {
		if r[0] == '2' {
			full++
		}
	}
	if full != 1 || runs[len(runs)-1][0] != '2' {
		t.Errorf("the clean subscriber left the full layer: %v", runs)
	}
	t.Logf("lossy subscriber's layers %v; %d packets dropped on its path", lossy.layers(), lossyConn.dropped.Load())
}
