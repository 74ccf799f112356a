package sfu

// seqGuard keeps a layer's sequence numbers, as its subscribers get them,
// free of ambiguity, so that no subscriber's SRTP context is ever made to
// encrypt two different packets under one packet index.
//
// A subscriber's SRTP context (the SFU's own, srtpout.go, or pion's
// session) guesses each packet's rollover counter from its sequence
// number and the newest it sent: a step of 2^15 or more forward reads as
// a step back, under the index of a packet already sent — the same
// AES-CTR keystream or GCM nonce for other content, which gives away
// the keystream, or GCM's authentication key for the whole session.
// Within a segment a DownTrack numbers its packets as the publisher did
// plus a constant, so the steps it takes are the steps between the
// packets route forwards. pion's receive context accepts every step of
// under 2^15, but route drops some packets it accepted (a bad header or
// padding length, an oversized packet): a publisher that sends a packet
// 32,000 ahead that route drops, then another 32,000 ahead that it
// forwards, has the subscribers see one step of 64,000, a step back of
// 1,536. So each packet's number is extended against every number
// pion delivered (as the receive context extends it), and a packet is
// routed only if it is less than 2^15 − 2^10 ahead of the newest packet
// routed and at most 2^10 behind it. An honest publisher's packets are
// always within that (pion's replay window refuses anything more than
// 64 behind its newest); a publisher that jumps further loses its own
// track from there on, no one else's.
type seqGuard struct {
	seen    uint64 // the newest number pion delivered, extended
	newest  uint64 // the newest number routed, extended
	started bool   // seen is set
	any     bool   // newest is set
}

const (
	seqAhead  = 1<<15 - 1<<10 // a packet may be routed at most this far ahead of the newest routed
	seqBehind = 1 << 10       // or this far behind it
)

// check extends seq against the numbers seen, takes it as the newest seen
// if it is, and reports whether it may be routed.
func (g *seqGuard) check(seq uint16) (uint64, bool) {
	if !g.started {
		// Far from 0 both ways: an extended number never wraps.
		g.seen, g.started = 1<<40|uint64(seq), true
		return g.seen, true
	}
	ext := uint64(int64(g.seen) + int64(int16(seq-uint16(g.seen))))
	if ext > g.seen {
		g.seen = ext
	}
	if !g.any {
		return ext, true
	}
	d := int64(ext) - int64(g.newest)
	return ext, d < seqAhead && d >= -seqBehind
}

// routed records that the packet numbered ext (from check) was routed.
func (g *seqGuard) routed(ext uint64) {
	if !g.any || ext > g.newest {
		g.newest, g.any = ext, true
	}
}
