package sfu

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// vp8Stream is one simulcast layer as a libwebrtc VP8 encoder numbers it:
// its own sequence numbers, timestamps, picture IDs (7 or 15 bits) and
// TL0PICIDX.
type vp8Stream struct {
	layer int
	seq   uint16
	ts    uint32
	pic   uint16
	long  bool
	tl0   uint8
}

// frame returns the two packets of frame f: a payload descriptor with
// picture ID, TL0PICIDX and TID, the VP8 header's P bit, then the layer
// and the frame's number. TL0PICIDX counts base-layer (TID 0) frames.
func (s *vp8Stream) frame(f uint32, key bool, tid uint8) [][]byte {
	s.ts += 3000
	mask := uint16(0x7f)
	if s.long {
		mask = 0x7fff
	}
	s.pic = (s.pic + 1) & mask
	if tid == 0 {
		s.tl0++
	}
	var pkts [][]byte
	for i := 0; i < 2; i++ {
		p := []byte{0x80, 0xe0}
		if i == 0 {
			p[0] |= 0x10 // start of partition 0
		}
		if s.long {
			p = append(p, 0x80|byte(s.pic>>8), byte(s.pic))
		} else {
			p = append(p, byte(s.pic))
		}
		p = append(p, s.tl0, tid<<6)
		p = append(p, 0x01) // delta frame
		if key {
			p[len(p)-1] = 0x00
		}
		p = append(p, byte(s.layer), 0, 0, 0, 0, byte(i))
		binary.BigEndian.PutUint32(p[len(p)-5:], f)
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: s.seq, Timestamp: s.ts,
			SSRC: uint32(100 + s.layer), Marker: i == 1}, Payload: p}).Marshal()
		s.seq++
		pkts = append(pkts, raw)
	}
	return pkts
}

// outPicture is what a forwarded packet's descriptor says.
type outPicture struct {
	pic      uint16
	long     bool
	tl0, tid uint8
	layer    int
	frame    uint32
}

func readPicture(t *testing.T, payload []byte) outPicture {
	t.Helper()
	pic, long, tl0 := vp8Picture(payload)
	n, _ := vp8DescriptorSize(payload)
	if pic < 0 || tl0 < 0 || n == 0 || len(payload) < n+7 {
		t.Fatalf("forwarded payload %x lost its descriptor", payload)
	}
	return outPicture{pic: vp8PictureID(payload, pic, long), long: long, tl0: payload[tl0], tid: payload[tl0+1] >> 6,
		layer: int(payload[n+1]), frame: binary.BigEndian.Uint32(payload[n+2:])}
}

// TestPictureIDsContinuousAcrossSwitches: three layers number their
// pictures apart (one with 7-bit picture IDs, near their wraps); a
// subscriber switched between them three times and paused while its tile
// is hidden sees picture IDs that go on by exactly one a frame and
// TL0PICIDX by one a base-layer frame, each in its descriptor's own width
// and wrapping, and retransmissions identical to what was first sent. A
// second subscriber, written after the first, gets the publisher's bytes
// unchanged, and so does the packet cache.
func TestPictureIDsContinuousAcrossSwitches(t *testing.T) {
	up, layers, d, rec := simulcastTrack(t)
	for _, l := range layers {
		l.cache = newPacketCache(512)
	}
	other := newDownTrack(up, connectedPeer("other"))
	otherRec := &recorder{}
	other.binding.Store(&binding{ssrc: 10, payloadType: 100, writer: otherRec})
	other.target.Store(0)
	up.attach(other)

	streams := []*vp8Stream{
		{layer: 0, seq: 1000, ts: 5000, pic: 32755, long: true, tl0: 250},
		{layer: 1, seq: 30000, ts: 9e5, pic: 90, tl0: 3},
		{layer: 2, seq: 65500, ts: 4294960000, pic: 17000, long: true, tl0: 128},
	}
	sent := map[[2]int][]byte{} // by layer and sequence number, as routed
	d.target.Store(0)
	now := int64(time.Hour)
	for f := uint32(0); f < 200; f++ {
		switch f {
		case 13:
			d.target.Store(2)
		case 25:
			d.target.Store(1)
		case 37:
			d.target.Store(0)
		case 49:
			d.hidden.Store(true)
		case 61:
			d.target.Store(1)
			d.hidden.Store(false)
		}
		now += int64(time.Second / 30)
		key := f%12 == 0
		tid := [4]uint8{0, 2, 1, 2}[f%4]
		var pkts [maxLayers][][]byte
		for l, s := range streams {
			pkts[l] = s.frame(f, key, tid)
		}
		for i := 0; i < 2; i++ {
			for l := range streams {
				raw := pkts[l][i]
				sent[[2]int{l, int(binary.BigEndian.Uint16(raw[2:]))}] = append([]byte(nil), raw...)
				up.route(layers[l], raw, now)
			}
		}
	}
	if len(rec.pkts) == 0 {
		t.Fatal("nothing forwarded")
	}

	// The subscriber's stream.
	var wraps15, wraps7, wrapsTL0, switches, pauses int
	prev := readPicture(t, rec.pkts[0].Payload)
	for i := 1; i < len(rec.pkts); i++ {
		p := rec.pkts[i]
		cur := readPicture(t, p.Payload)
		if p.SequenceNumber != rec.pkts[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: sequence number %d after %d", i, p.SequenceNumber, rec.pkts[i-1].SequenceNumber)
		}
		if cur.layer == prev.layer && cur.frame == prev.frame {
			if cur.pic != prev.pic || cur.tl0 != prev.tl0 {
				t.Errorf("packet %d: picture %d TL0 %d within a frame that began with %d, %d", i, cur.pic, cur.tl0, prev.pic, prev.tl0)
			}
			continue
		}
		if cur.layer != prev.layer {
			switches++
		}
		if cur.frame > prev.frame+1 {
			pauses++
		}
		mask := uint16(0x7fff)
		if !cur.long || !prev.long {
			mask = 0x7f
		}
		if want := (prev.pic + 1) & mask; cur.pic&mask != want {
			t.Errorf("packet %d (layer %d frame %d, after layer %d frame %d): picture ID %d after %d, want %d",
				i, cur.layer, cur.frame, prev.layer, prev.frame, cur.pic, prev.pic, want)
		}
		wantTL0 := prev.tl0
		if cur.tid == 0 {
			wantTL0++
		}
		if cur.tl0 != wantTL0 {
			t.Errorf("packet %d (layer %d frame %d, TID %d): TL0PICIDX %d after %d, want %d", i, cur.layer, cur.frame, cur.tid, cur.tl0, prev.tl0, wantTL0)
		}
		if cur.long && prev.long && cur.pic < prev.pic {
			wraps15++
		}
		if !cur.long && !prev.long && cur.pic < prev.pic {
			wraps7++
		}
		if cur.tl0 < prev.tl0 {
			wrapsTL0++
		}
		// The descriptor keeps its length: the layer's own width.
		if cur.long != streams[cur.layer].long {
			t.Errorf("packet %d: layer %d's picture ID forwarded as long=%v", i, cur.layer, cur.long)
		}
		prev = cur
	}
	if switches != 4 || pauses != 1 || d.switches.Load() != 4 {
		t.Errorf("the subscriber saw %d layer changes (the DownTrack counted %d) and %d pauses, want 4 and 1",
			switches, d.switches.Load(), pauses)
	}
	if wraps15 == 0 || wraps7 == 0 || wrapsTL0 == 0 {
		t.Errorf("wrap-arounds seen: 15-bit %d, 7-bit %d, TL0PICIDX %d; the test means little without each", wraps15, wraps7, wrapsTL0)
	}

	// Retransmissions carry what was first sent: every packet of the last
	// four segments (from the switch to layer 2, at frame 24) is asked for.
	var nacks []rtcp.NackPair
	want := map[uint16]rtp.Packet{}
	from := 0
	for from < len(rec.pkts) && readPicture(t, rec.pkts[from].Payload).layer != 2 {
		from++
	}
	for _, p := range rec.pkts[from:] {
		nacks = append(nacks, rtcp.NackPair{PacketID: p.SequenceNumber})
		want[p.SequenceNumber] = p
	}
	firstSent := len(rec.pkts)
	d.retransmit(&rtcp.TransportLayerNack{Nacks: nacks})
	resent := rec.pkts[firstSent:]
	if len(resent) != len(want) {
		t.Errorf("retransmitted %d packets, want %d", len(resent), len(want))
	}
	for _, p := range resent {
		w, ok := want[p.SequenceNumber]
		if !ok || p.Timestamp != w.Timestamp || p.Marker != w.Marker || !bytes.Equal(p.Payload, w.Payload) {
			t.Errorf("retransmission of %d: ts %d payload %x, first sent as ts %d payload %x", p.SequenceNumber, p.Timestamp, p.Payload, w.Timestamp, w.Payload)
		}
	}

	// The shared buffers: the cache holds what the publisher sent, and the
	// subscriber that never switched got it byte for byte.
	for key, raw := range sent {
		if got := layers[key[0]].cache.get(uint16(key[1])); got != nil && !bytes.Equal(got, raw) {
			t.Fatalf("layer %d packet %d changed in the cache: %x, sent %x", key[0], key[1], got, raw)
		}
	}
	if len(otherRec.pkts) != 400 {
		t.Fatalf("the other subscriber got %d packets, want all 400 of layer 0", len(otherRec.pkts))
	}
	for _, p := range otherRec.pkts {
		raw := sent[[2]int{0, int(p.SequenceNumber)}]
		if raw == nil || !bytes.Equal(p.Payload, raw[12:]) {
			t.Fatalf("the other subscriber's packet %d: payload %x, the publisher sent %x", p.SequenceNumber, p.Payload, raw)
		}
	}
}

// TestHiddenTileGetsNothing: a 0×0 video_size stops the track for the
// subscriber (no packet, no keyframe request, even if it asks); a size
// resumes it at a key frame of the layer for that size, requested at once,
// with sequence numbers running on and timestamps moved on by the time it
// was hidden. A track without simulcast pauses and resumes the same way.
func TestHiddenTileGetsNothing(t *testing.T) {
	for _, simulcast := range []bool{true, false} {
		name := "simulcast"
		if !simulcast {
			name = "one layer"
		}
		t.Run(name, func(t *testing.T) {
			up, layers, d, rec := simulcastTrack(t)
			fb := &plis{}
			up.feedback = fb
			defer up.close()
			if !simulcast {
				up.simulcast = false
				up.layers[1].Store(nil)
				up.layers[2].Store(nil)
				layers = layers[:1]
				d.target.Store(0)
			}
			d.peer.downs = map[*UpTrack]*DownTrack{up: d}
			seq := [maxLayers]uint16{100, 30000, 65000}
			ts := [maxLayers]uint32{1000, 2e9, 4294000000}
			f := uint32(0)
			// frame routes one frame of every layer; keys names the layers
			// whose frame is a key frame.
			frame := func(keys ...int) {
				f++
				now := time.Now().UnixNano()
				for l := range layers {
					key := false
					for _, k := range keys {
						key = key || k == l
					}
					ts[l] += 3000
					up.route(layers[l], simPacket(l, seq[l], ts[l], f, 0, key, true), now)
					seq[l]++
				}
			}
			size := func(w, h int) {
				t.Helper()
				if !d.peer.SetVideoSize("publisher", SourceCamera, w, h) {
					t.Fatal("SetVideoSize found no track")
				}
			}
			top := len(layers) - 1
			frame(0, 1, 2)
			frame()
			before := len(rec.pkts)
			if before != 2 || int(rec.pkts[0].Payload[12]) != top {
				t.Fatalf("forwarded %d packets before hiding, want 2 of layer %d", before, top)
			}
			lastSeq, lastTS := rec.pkts[1].SequenceNumber, rec.pkts[1].Timestamp
			hiddenFrom := time.Now()

			size(0, 0)
			for i := 0; i < 10; i++ {
				frame(0, 1, 2)
				frame()
			}
			d.requestKeyframe() // the subscriber's own PLI
			if n := len(rec.pkts) - before; n != 0 {
				t.Fatalf("forwarded %d packets to a hidden tile", n)
			}
			for l := range layers {
				if n := fb.n[l].Load(); n != 0 {
					t.Errorf("%d keyframe requests for layer %d while hidden", n, l)
				}
			}

			want := 0
			if simulcast {
				size(320, 180)
			} else {
				size(1280, 720)
			}
			hiddenFor := time.Since(hiddenFrom)
			if n := fb.n[want].Load(); n != 1 {
				t.Errorf("showing the tile asked %d times for a key frame of layer %d, want 1", n, want)
			}
			frame()     // a delta: not a place to resume
			frame(1, 2) // key frames of the layers it does not want (one layer: none)
			if n := len(rec.pkts) - before; n != 0 {
				t.Fatalf("resumed on %d packets without a key frame of layer %d", n, want)
			}
			frame(want)
			frame()
			got := rec.pkts[before:]
			if len(got) != 2 {
				t.Fatalf("forwarded %d packets after the key frame, want 2", len(got))
			}
			if l, key := int(got[0].Payload[12]), got[0].Payload[13] == 1; l != want || !key {
				t.Errorf("resumed on layer %d (key frame %v), want a key frame of layer %d", l, key, want)
			}
			if got[0].SequenceNumber != lastSeq+1 || got[1].SequenceNumber != lastSeq+2 {
				t.Errorf("resumed at sequence numbers %d, %d after %d", got[0].SequenceNumber, got[1].SequenceNumber, lastSeq)
			}
			// The timestamp moves on by the time the tile was hidden, not
			// by the frames' own clock (the publisher sent 24 frames).
			dt := got[0].Timestamp - lastTS
			if low := uint32(hiddenFor.Seconds() * 90000); dt < low || int32(dt) <= 0 {
				t.Errorf("timestamp moved on by %d after %v hidden, want at least %d", dt, hiddenFor, low)
			}
			if got[1].Timestamp-got[0].Timestamp != 3000 {
				t.Errorf("timestamps %d then %d after resuming, want a frame apart", got[0].Timestamp, got[1].Timestamp)
			}
		})
	}
}

// BenchmarkRewriteVP8 is the per-packet cost of a subscriber's picture ID
// rewrite after a switch: parse the descriptor, copy a 1200-byte payload.
func BenchmarkRewriteVP8(b *testing.B) {
	up, _ := benchUpTrack()
	d := newDownTrack(up, connectedPeer(""))
	d.picOut, d.picSent, d.tl0Out, d.tl0Sent = 5000, true, 7, true
	payload := make([]byte, 1200)
	copy(payload, []byte{0x90, 0xe0, 0x81, 0x23, 0x10, 0x40, 0x01})
	s := &segment{vp8: true}
	b.ReportAllocs()
	for b.Loop() {
		d.rewriteVP8(s, payload, false)
	}
}
