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
// of bytes that starts small and doubles whenever it wraps in less than
// cacheKeep, up to cacheMaxBytes, so that it holds between cacheKeep and
// twice that of the layer's current bitrate (a 1.5 Mbit/s camera: 256
// KiB, about 1.4 s; a 500 kbit/s gallery layer: 64 or 128 KiB). A ring
// whose lap takes more than cacheShrinkAfter halves again, keeping its
// newest packets, so a layer whose bitrate falls gives the memory back.
// NACK repair needs about one and a half round trips of packets; a second
// covers that with room on any path a call survives. A table of slots,
// indexed by sequence number, finds a packet in the ring.
//
// It is used only under its UpTrack's fan-out lock.
type packetCache struct {
	slots []cacheSlot // by sequence number modulo its length
	buf   []byte      // the ring; its length is a power of two
	// head is the absolute position (bytes ever placed, counting the
	// tails skipped at each wrap) where the next packet goes; a packet at
	// absolute position p is intact while p >= head-len(buf) and p >=
	// floor (what was before floor did not survive a resize).
	head, floor uint64
	lapStart    int64 // when the ring last wrapped, unix nanoseconds; 0 before the first store
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
// cacheMaxBytes (both powers of two) to keep at least cacheKeep of
// packets; it halves when a lap takes longer than cacheShrinkAfter.
const (
	cacheMinBytes    = 32 << 10
	cacheMaxBytes    = 1 << 20
	cacheKeep        = int64(1e9)
	cacheShrinkAfter = 4 * cacheKeep
)

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
	ring := uint64(len(c.buf))
	off := c.head & (ring - 1)
	if off+size > ring { // no room before the end: the next lap starts
		c.head += ring - off
		off = 0
	}
	if c.lapStart == 0 {
		c.lapStart = now
	} else if off == 0 { // a lap ended
		c.lapEnded(now)
		ring = uint64(len(c.buf))
		off = c.head & (ring - 1)
	}
	copy(c.buf[off:off+size], pkt)
	*s = cacheSlot{pos: c.head, seq: seq, size: uint16(size), valid: true}
	c.head += size
	return c.buf[off : off+size : off+size]
}

// lapEnded resizes the ring, at a lap's end (head a multiple of its
// length), if the lap was shorter than cacheKeep or longer than
// cacheShrinkAfter.
func (c *packetCache) lapEnded(now int64) {
	lap := now - c.lapStart
	c.lapStart = now
	ring := uint64(len(c.buf))
	switch {
	case lap < cacheKeep && ring < cacheMaxBytes:
		// Twice the size: the old ring, all of it intact, is the
		// newest half of the new one (positions modulo the new length).
		next := make([]byte, 2*ring)
		copy(next[(c.head-ring)&(2*ring-1):], c.buf)
		c.buf = next
		c.floor = c.head - ring
		if c.head&(2*ring-1) != 0 {
			// The next lap is the new ring's second half: its time
			// counts from when the first half, the old ring, began.
			c.lapStart = now - lap
		}
	case lap > cacheShrinkAfter && ring > cacheMinBytes:
		// Half the size, keeping the newest half of the old ring.
		half := ring / 2
		next := make([]byte, half)
		copy(next, c.buf[half:])
		c.buf = next
		c.floor = c.head - half
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
	off := s.pos & (ring - 1)
	return c.buf[off : off+uint64(s.size)]
}
