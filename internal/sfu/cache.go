package sfu

// packetCache keeps the latest packets of one incoming stream, so that the
// SFU answers its subscribers' NACKs itself, from one buffer per published
// layer shared by every subscriber. (pion's NACK responder would keep a
// copy of every packet per subscriber: N copies of the same bytes, one
// allocation each, and about 1.5 MB of buffers per subscribed video track.)
//
// It is used only under its UpTrack's fan-out lock.
type packetCache struct {
	slots []cacheSlot
	buf   []byte // len(slots) * cacheSlotSize
}

type cacheSlot struct {
	seq   uint16
	size  uint16
	valid bool
}

// cacheSlotSize bounds the packets kept; larger ones (which a WebRTC
// sender does not produce) are not retransmitted.
const cacheSlotSize = 1500

// newPacketCache keeps the last n packets; n must be a power of two.
func newPacketCache(n int) *packetCache {
	return &packetCache{slots: make([]cacheSlot, n), buf: make([]byte, n*cacheSlotSize)}
}

// store keeps a copy of pkt, the packet with sequence number seq.
func (c *packetCache) store(seq uint16, pkt []byte) {
	i := int(seq) & (len(c.slots) - 1)
	if len(pkt) > cacheSlotSize {
		c.slots[i].valid = false
		return
	}
	copy(c.buf[i*cacheSlotSize:], pkt)
	c.slots[i] = cacheSlot{seq: seq, size: uint16(len(pkt)), valid: true}
}

// get returns the packet with sequence number seq, or nil if it is no
// longer (or never was) in the cache. The slice is valid until the next
// store.
func (c *packetCache) get(seq uint16) []byte {
	i := int(seq) & (len(c.slots) - 1)
	s := c.slots[i]
	if !s.valid || s.seq != seq {
		return nil
	}
	return c.buf[i*cacheSlotSize : i*cacheSlotSize+int(s.size)]
}
