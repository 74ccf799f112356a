package sfu

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/pion/rtp"
)

// cachePacket is the content the cache tests store as packet seq: its
// size and bytes follow from the number, so a read can be checked.
func cachePacket(seq uint16, size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(int(seq)*7 + i)
	}
	return p
}

// feed stores packets of size bytes at rate bits per second for d
// nanoseconds from *now, numbering them from *seq.
func feed(c *packetCache, now *int64, seq *uint16, rate, size int, d int64) {
	gap := int64(size) * 8 * 1e9 / int64(rate)
	for end := *now + d; *now < end; *now += gap {
		c.store(*seq, cachePacket(*seq, size), *now)
		*seq++
	}
}

// TestCacheSizedByTime: the ring grows to hold at least cacheKeep of the
// stream at its bitrate, and not much more; a stream whose bitrate falls
// gives memory back. Every packet sent within the last cacheKeep can be
// had, unchanged, and packets older than what the ring holds cannot.
func TestCacheSizedByTime(t *testing.T) {
	c := newPacketCache(videoCachePackets)
	now, seq := int64(1), uint16(0)
	check := func(rate, size int) {
		t.Helper()
		perSecond := rate / 8
		held := float64(len(c.buf)) / float64(perSecond) // seconds
		if len(c.buf) < cacheMaxBytes && held < float64(cacheKeep)/1e9 {
			t.Errorf("%d bit/s: the ring of %d bytes holds %.2f s, want at least %.2f s", rate, len(c.buf), held, float64(cacheKeep)/1e9)
		}
		if len(c.buf) > cacheMinBytes && held > 2.5*float64(cacheShrinkAfter)/1e9 {
			t.Errorf("%d bit/s: the ring of %d bytes holds %.2f s, more than it should keep", rate, len(c.buf), held)
		}
		// The packets of the last cacheKeep are all there, as sent (as
		// many as the slots allow).
		recent := min(int(int64(perSecond)*cacheKeep/1e9)/size, len(c.slots)) - 1
		for i := 1; i <= recent; i++ {
			s := seq - uint16(i)
			if got := c.get(s); !bytes.Equal(got, cachePacket(s, size)) {
				t.Fatalf("%d bit/s: packet %d of the last %d is %d bytes, want it as sent", rate, i, recent, len(got))
			}
		}
		// What the ring no longer holds is gone.
		if gone := len(c.buf)/size + 2; gone < len(c.slots) {
			if got := c.get(seq - uint16(gone)); got != nil {
				t.Errorf("%d bit/s: packet %d back, beyond the ring of %d bytes, is still returned", rate, gone, len(c.buf))
			}
		}
		t.Logf("%d bit/s: ring %d KiB, %.2f s", rate, len(c.buf)>>10, held)
	}
	for _, step := range []struct{ rate, size int }{
		{1_500_000, 1100}, // a camera's top layer
		{500_000, 900},    // a gallery layer: the ring shrinks if its lap is over cacheShrinkAfter
		{150_000, 400},    // a small layer
		{2_500_000, 1200}, // a screen share: grows again
	} {
		feed(c, &now, &seq, step.rate, step.size, 10*cacheShrinkAfter)
		check(step.rate, step.size)
	}
	sizes := map[int]bool{}
	for _, rate := range []int{1_500_000, 500_000, 150_000} {
		c := newPacketCache(videoCachePackets)
		feed(c, &now, &seq, rate, 1000, 3*cacheShrinkAfter)
		sizes[len(c.buf)] = true
	}
	if len(sizes) != 3 {
		t.Errorf("streams of 1.5 Mbit/s, 500 and 150 kbit/s got rings of %d sizes, want 3 (sized by bitrate)", len(sizes))
	}
}

// TestCacheContentSurvivesResizes: packets of random sizes at a bitrate
// that changes every few seconds; every read returns either nothing or
// exactly the packet stored under that number, and the latest packets are
// always there.
func TestCacheContentSurvivesResizes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	c := newPacketCache(videoCachePackets)
	now, seq := int64(1), uint16(0)
	sizes := map[uint16]int{}
	rate := 1_000_000
	for i := 0; i < 200_000; i++ {
		if i%5000 == 0 {
			rate = 100_000 + rnd.IntN(3_000_000)
		}
		size := 12 + rnd.IntN(cacheSlotSize-12)
		if rnd.IntN(50) == 0 {
			size = cacheSlotSize + 1 // too large: not kept
		}
		now += int64(size) * 8 * 1e9 / int64(rate)
		got := c.store(seq, cachePacket(seq, size), now)
		if size > cacheSlotSize {
			if got != nil {
				t.Fatal("a packet larger than a slot was kept")
			}
			delete(sizes, seq)
		} else {
			sizes[seq] = size
		}
		for back := 0; back < 8; back++ {
			s := seq - uint16(back)
			p := c.get(s)
			if want, ok := sizes[s]; ok && back < 4 && p == nil {
				t.Fatalf("store %d: packet %d back (%d bytes) is missing from a ring of %d", i, back, want, len(c.buf))
			}
			if p != nil && !bytes.Equal(p, cachePacket(s, sizes[s])) {
				t.Fatalf("store %d: packet %d back is not what was stored", i, back)
			}
		}
		if r := rnd.IntN(len(c.slots)); rnd.IntN(4) == 0 {
			s := seq - uint16(r)
			if p := c.get(s); p != nil && !bytes.Equal(p, cachePacket(s, sizes[s])) {
				t.Fatalf("store %d: packet %d back is not what was stored", i, r)
			}
		}
		seq++
	}
}

// TestCacheSteadyStateDoesNotAllocate: once sized for its stream, storing
// allocates nothing.
func TestCacheSteadyStateDoesNotAllocate(t *testing.T) {
	c := newPacketCache(videoCachePackets)
	now, seq := int64(1), uint16(0)
	feed(c, &now, &seq, 1_500_000, 1100, 10*cacheKeep)
	pkt := cachePacket(0, 1100)
	gap := int64(1100*8*1e9) / 1_500_000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 20_000; i++ { // about 2 minutes of the stream
		now += gap
		c.store(seq, pkt, now)
		seq++
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 10 { // the runtime's own, not 20,000
		t.Errorf("%d allocations storing 20,000 packets", n)
	}
}

// TestBatchSurvivesStoresMeanwhile: a frame's packets wait in the cache
// (the batch has no copies) while a burst of publisher retransmissions
// and late packets is stored; what the subscriber gets is still exactly
// what the publisher sent.
func TestBatchSurvivesStoresMeanwhile(t *testing.T) {
	up, layers, d, rec := simulcastTrack(t)
	d.target.Store(0)
	l := layers[0]
	ts, seq, now := uint32(90000), uint16(1000), int64(1)
	packet := func(seq uint16, ts uint32, first, marker, key bool) []byte {
		payload := cachePacket(seq, 1100)
		payload[0] = 0x00 // VP8 descriptor: not the start of a frame
		payload[2], payload[3] = byte(seq>>8), byte(seq)
		if first {
			payload[0], payload[1] = 0x10, 0x01
			if key {
				payload[1] = 0x00
			}
		}
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts,
			SSRC: 100, Marker: marker}, Payload: payload}).Marshal()
		return raw
	}
	sent := map[string]bool{} // payloads
	send := func(raw []byte) {
		var p rtp.Packet
		p.Unmarshal(raw)
		sent[string(p.Payload)] = true
		// Slow enough that the ring stays at its smallest (a lap takes
		// more than cacheKeep), where a burst could reach the batch.
		now += 40e6
		up.route(l, raw, now)
	}
	for frame := 0; frame < 40; frame++ {
		ts += 3000
		for i := 0; i < 6; i++ {
			send(packet(seq, ts, i == 0, i == 5, frame == 0))
			seq++
			if i == 2 {
				// 40 retransmissions of older packets (of the frame
				// before), more than the smallest ring holds.
				for k := 0; k < 40; k++ {
					old := seq - 20 + uint16(k%10)
					if frame > 0 {
						send(packet(old, ts-3000, false, false, false))
					}
				}
			}
		}
	}
	if len(rec.pkts) < 40*6 {
		t.Fatalf("%d packets forwarded, want at least the 240 of the frames", len(rec.pkts))
	}
	if len(l.cache.buf) != cacheMinBytes {
		t.Fatalf("the ring grew to %d bytes: the burst no longer reaches the batch", len(l.cache.buf))
	}
	// Every payload forwarded is one the publisher sent, under the
	// header it was sent with: its own sequence number (in bytes 2 and 3)
	// is the subscriber's less the one offset of an unswitched layer.
	for i, p := range rec.pkts {
		if !sent[string(p.Payload)] {
			t.Fatalf("forwarded packet %d (of %d) carries a payload the publisher never sent: %x", i, len(rec.pkts), p.Payload[:min(16, len(p.Payload))])
		}
		own := uint16(p.Payload[2])<<8 | uint16(p.Payload[3])
		if off := p.SequenceNumber - own; off != rec.pkts[0].SequenceNumber-1000 {
			t.Fatalf("forwarded packet %d (of %d), numbered %d, carries packet %d's payload", i, len(rec.pkts), p.SequenceNumber, own)
		}
	}
}
