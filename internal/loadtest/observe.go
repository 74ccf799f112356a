package loadtest

import (
	"encoding/binary"
	"sync"
	"time"
)

// window is how many recent sequence numbers a trackStats remembers, to
// count late (retransmitted or reordered) packets once.
const window = 1024

// trackStats counts one received track's packets by RTP sequence number.
// observe runs in the track's reading goroutine; snapshots come from
// elsewhere, so a mutex (uncontended nearly always) guards it all.
type trackStats struct {
	video bool

	mu       sync.Mutex
	started  bool
	base     int64 // extended sequence number of the first packet
	max      int64 // highest extended sequence number seen
	unique   int64 // distinct sequence numbers received
	dups     int64
	seen     [window / 64]uint64
	first    time.Time // first packet
	firstKey time.Time // first packet of a key frame (video)
	record   bool      // collect latencies (during the measured window)
	latency  []time.Duration
}

// counts is a snapshot for loss over an interval.
type counts struct {
	expected, unique int64
}

func (s *trackStats) snapshot() counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return counts{}
	}
	return counts{expected: s.max - s.base + 1, unique: s.unique}
}

// ready reports whether the track has delivered media a receiver could
// show: any packet for audio, a key frame for video.
func (s *trackStats) ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && (!s.video || !s.firstKey.IsZero())
}

func (s *trackStats) recording(on bool) {
	s.mu.Lock()
	s.record = on
	s.mu.Unlock()
}

// observe counts one RTP packet (as received, after SRTP).
func (s *trackStats) observe(pkt []byte) { s.observeAt(pkt, time.Now()) }

// observeAt counts one RTP packet received at now (the light receiver
// reads the clock once per batch).
func (s *trackStats) observeAt(pkt []byte, now time.Time) {
	payload, seq, ok := rtpPayload(pkt)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started, s.base, s.max, s.first = true, int64(seq), int64(seq), now
		s.mark(int64(seq))
		s.unique = 1
	} else {
		ext := s.max + int64(int16(seq-uint16(s.max)))
		switch {
		case ext > s.max:
			for e := s.max + 1; e < ext && e <= s.max+window; e++ {
				s.clear(e)
			}
			s.max = ext
			s.mark(ext)
			s.unique++
		case s.max-ext >= window || ext < s.base:
			// Too old to tell: leave it counted as lost.
		case s.marked(ext):
			s.dups++
		default:
			s.mark(ext)
			s.unique++
		}
	}
	if s.video && s.firstKey.IsZero() && isVP8Keyframe(payload) {
		s.firstKey = now
	}
	if s.record {
		if sent, ok := stamp(payload); ok {
			s.latency = append(s.latency, now.Sub(sent))
		}
	}
}

func (s *trackStats) mark(e int64)        { s.seen[(e%window)/64] |= 1 << (e % 64) }
func (s *trackStats) clear(e int64)       { s.seen[(e%window)/64] &^= 1 << (e % 64) }
func (s *trackStats) marked(e int64) bool { return s.seen[(e%window)/64]&(1<<(e%64)) != 0 }

// rtpPayload finds the payload and sequence number of an RTP packet
// without copying: after the fixed header, the CSRCs and any header
// extension (the SFU adds none, but publishers' browsers do).
func rtpPayload(b []byte) (payload []byte, seq uint16, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return nil, 0, false
	}
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < off+4 {
			return nil, 0, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > off {
		end -= int(b[end-1])
	}
	if off > end {
		return nil, 0, false
	}
	return b[off:end], binary.BigEndian.Uint16(b[2:]), true
}

// isVP8Keyframe reports whether a VP8 RTP payload (RFC 7741) starts a key
// frame: the first packet of partition 0 whose VP8 header has P clear.
func isVP8Keyframe(p []byte) bool {
	if len(p) < 1 || p[0]&0x10 == 0 || p[0]&0x0f != 0 {
		return false
	}
	i := 1
	if p[0]&0x80 != 0 { // extended control bits
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // PictureID, 7 or 15 bits
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // TID/KEYIDX
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0
}

// stamp reads the send time the client's pump writes into the first
// packet of each frame: two codec bytes, "KG", then Unix nanoseconds.
func stamp(p []byte) (time.Time, bool) {
	if len(p) < 12 || p[2] != 'K' || p[3] != 'G' {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(p[4:]))), true
}
