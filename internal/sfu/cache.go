package sfu

// packetCache keeps the latest packets of one incoming stream, so that the
// SFU answers its subscribers' NACKs itself, from one buffer per published
// layer shared by every subscriber. (pion's NACK responder would keep a
// copy of every packet per subscriber: N copies of the same bytes, one
// allocation each, and about 1.5 MB of buffers per subscribed video track.)
//
// It is sized by time and bitrate rather than by a count of full-sized
// slots (issue 16: 512 slots of 1,500 bytes were 768 KB a layer, most of a
// publisher's memory): packets are packed at their own size into a ring
// of bytes that starts small and grows whenever it wraps in less than
// cacheKeep, up to cacheMaxBytes: at once to the smallest of its sizes
// (32, 48, 64, 96, 128, 192 KiB ...: steps of ×1.5 and ×4/3) that the
// lap's bitrate fills in cacheKeep. So it holds between cacheKeep and
// 1.5 times that of the layer's bitrate (a 1.5 Mbit/s camera: 192 or 256
// KiB; a 500 kbit/s gallery layer: 64 or 96 KiB). Rings that doubled held
// up to twice that: a join's key frames made a 500 kbit/s layer's 64 KiB
// lap short, and its ring stayed at 128 KiB (20 of them in a 20×20
// meeting). A ring whose lap takes more than cacheShrinkAfter shrinks a
// step, keeping its newest packets, so a layer whose bitrate falls gives
// the memory back; the lap is long enough that a pause of a couple of
// seconds, or a bitrate halved a while, never shrinks it below a second
// of the bitrate that comes back (a shrink after 2 s laps did: a9fe50b,
// reverted in c571172; TestReview2CacheKeepsASecondAfterAShortPause).
// NACK repair needs about one and a half round trips of packets; a second
// covers that with room on any path a call survives. A table of slots,
// indexed by sequence number, finds a packet in the ring.
//
// It is used only under its UpTrack's fan-out lock.
type packetCache struct {
	slots []cacheSlot // by sequence number modulo its length
	buf   []byte      // the ring; its length is one of the steps (nextRingSize)
	// head is the absolute position (bytes ever placed, counting the
	// tails skipped at each wrap) where the next packet goes; a packet at
	// absolute position p is intact while p >= head-len(buf) and p >=
	// floor (what was before floor did not survive a resize). It is at
	// buf[(p-base)%len(buf)]; off is head's place there, kept as the ring
	// fills so that a store needs no division.
	head, floor, base, off uint64
	lapStart               int64 // when the ring last wrapped, unix nanoseconds; 0 before the first store
}

type cacheSlot struct {
	pos   uint64
	seq   uint16
	size  uint16
	valid bool
}

// cacheSlotSize bounds the packets kept; larger ones (which a WebRTC
// sender does not produce) are not retransmitted.
const cacheSlotSize = 1500

// The ring's sizing: it starts at cacheMinBytes and grows up to
// cacheMaxBytes (both powers of two, so both steps) to keep at least
// cacheKeep of packets; it shrinks a step when a lap takes longer than
// cacheShrinkAfter. A step down is at most ×2/3, so a shrunk ring still
// holds over 2.6 s of the last lap's bitrate.
const (
	cacheMinBytes    = 32 << 10
	cacheMaxBytes    = 1 << 20
	cacheKeep        = int64(1e9)
	cacheShrinkAfter = 4 * cacheKeep
)

// nextRingSize is the ring's size a step up from n: 32, 48, 64, 96 KiB,
// ..., a power of two and one and a half times it in turn.
func nextRingSize(n int) int {
	if n&(n-1) == 0 {
		return n + n/2
	}
	return n + n/3
}

// prevRingSize is the ring's size a step down from n.
func prevRingSize(n int) int {
	if n&(n-1) == 0 {
		return n - n/4
	}
	return n - n/3
}

// grownRingSize is the smallest step above ring that a lap's bitrate
// (ring bytes in lap nanoseconds) fills in no less than cacheKeep, at
// most cacheMaxBytes. A lap of no time or less says nothing of the
// bitrate (the wall clock the times come from was stepped back): one
// step, as the ring grew before it was sized by the lap.
func grownRingSize(ring int, lap int64) int {
	next := nextRingSize(ring)
	for lap > 0 && next < cacheMaxBytes && int64(next)*lap < int64(ring)*cacheKeep {
		next = nextRingSize(next)
	}
	return min(next, cacheMaxBytes)
}

// newPacketCache keeps up to n packets (n a power of two), as many of
// them as the ring's time allows.
func newPacketCache(n int) *packetCache {
	return &packetCache{slots: make([]cacheSlot, n), buf: make([]byte, cacheMinBytes)}
}

// store keeps a copy of pkt, the packet with sequence number seq, which
// arrived at now (unix nanoseconds), and returns the copy, or nil if the
// packet is too large to keep. The copy, at absolute position head minus
// its length, stays intact while keeps says so (a resize leaves it in the
// old ring, unchanged), so a frame batch may hold it until it is sent.
func (c *packetCache) store(seq uint16, pkt []byte, now int64) []byte {
	s := &c.slots[int(seq)&(len(c.slots)-1)]
	if len(pkt) > cacheSlotSize {
		s.valid = false
		return nil
	}
	size := uint64(len(pkt))
	if c.off+size > uint64(len(c.buf)) { // no room before the end: the next lap starts
		c.head += uint64(len(c.buf)) - c.off
		c.off = 0
	}
	if c.lapStart == 0 {
		c.lapStart = now
	} else if c.off == 0 { // a lap ended
		c.lapEnded(now)
	}
	off := c.off
	copy(c.buf[off:off+size], pkt)
	*s = cacheSlot{pos: c.head, seq: seq, size: uint16(size), valid: true}
	c.head += size
	c.off += size
	return c.buf[off : off+size : off+size]
}

// lapEnded resizes the ring, at a lap's end (head at buf[0]), if the
// lap was shorter than cacheKeep or longer than cacheShrinkAfter.
func (c *packetCache) lapEnded(now int64) {
	lap := now - c.lapStart
	c.lapStart = now
	if lap <= 0 {
		// The wall clock the times come from was stepped back: the lap
		// says nothing of the bitrate, and the next is timed from now
		// (timed from the old start, every lap until the clock caught
		// up would have seemed short; TestReview3CacheClockStepBack).
		return
	}
	ring := len(c.buf)
	switch {
	case lap < cacheKeep && ring < cacheMaxBytes:
		// Larger: the old ring, all of it intact, is the start of the
		// new one, and the lap goes on after it; its time counts from
		// when the old ring's lap began.
		next := make([]byte, grownRingSize(ring, lap))
		copy(next, c.buf)
		c.buf = next
		c.base = c.head - uint64(ring)
		c.floor = c.base
		c.off = uint64(ring)
		c.lapStart = now - lap
	case lap > cacheShrinkAfter && ring > cacheMinBytes:
		// A step smaller, keeping the newest part of the old ring (a
		// packet cut by its start is gone: it is before floor); the new
		// ring is full, so the next lap starts now.
		size := prevRingSize(ring)
		next := make([]byte, size)
		copy(next, c.buf[ring-size:])
		c.buf = next
		c.base = c.head - uint64(size)
		c.floor = c.base
	}
}

// keeps reports whether a packet stored at absolute position pos is sure
// to be intact after one more store (which moves head by at most two
// packets' sizes, a skipped tail and the packet).
func (c *packetCache) keeps(pos uint64) bool {
	return c.head+2*cacheSlotSize-pos <= cacheMinBytes && pos >= c.floor
}

// forget drops the packet with sequence number seq, stored but not to be
// sent again.
func (c *packetCache) forget(seq uint16) {
	s := &c.slots[int(seq)&(len(c.slots)-1)]
	if s.seq == seq {
		s.valid = false
	}
}

// get returns the packet with sequence number seq, or nil if it is no
// longer (or never was) in the cache. The slice is valid until the next
// store.
func (c *packetCache) get(seq uint16) []byte {
	s := c.slots[int(seq)&(len(c.slots)-1)]
	ring := uint64(len(c.buf))
	if !s.valid || s.seq != seq || s.pos < c.floor || c.head-s.pos > ring {
		return nil
	}
	off := (s.pos - c.base) % ring
	return c.buf[off : off+uint64(s.size)]
}
