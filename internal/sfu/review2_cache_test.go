package sfu

import (
	"fmt"
	"testing"
)

// Review (Rev2) of a9fe50b, the NACK cache's ring in steps of 1.5 and 4/3
// shrinking after a 2 s lap: does the cache still hold every packet of the
// last cacheKeep (what a subscriber's NACK can ask for) at every bitrate,
// and while a publisher slows? (It does. After a short pause, or a rate
// halved and back, it did not: review2_cache_pause_test.go, for which
// c571172 reverted a9fe50b.)

// r2Stream feeds a packetCache as a publisher would and checks, at every
// packet stored, that every packet sent within the last cacheKeep can
// still be had. It adds up the time during which that was not so.
type r2Stream struct {
	c     *packetCache
	now   int64
	seq   uint16
	sent  [1 << 16]int64 // when each sequence number was stored
	size  [1 << 16]int
	check bool
	short int64 // nanoseconds during which a packet of the last cacheKeep was missing
	worst int64 // the least age (ns) of a missing packet of the last cacheKeep; 0: none missing
	first int64 // when the first one went missing; 0: never
}

func newR2Stream() *r2Stream {
	return &r2Stream{c: newPacketCache(videoCachePackets), now: 1}
}

// send stores packets of size bytes at rate bit/s for d nanoseconds; rate
// 0 is a pause (nothing sent for d).
func (s *r2Stream) send(rate, size int, d int64) {
	if rate == 0 {
		s.now += d
		return
	}
	gap := int64(size) * 8 * 1e9 / int64(rate)
	for end := s.now + d; s.now < end; s.now += gap {
		s.store(size, gap)
	}
}

func (s *r2Stream) store(size int, gap int64) {
	s.c.store(s.seq, cachePacket(s.seq, size), s.now)
	s.sent[s.seq], s.size[s.seq] = s.now, size
	s.seq++
	if !s.check {
		return
	}
	// Every packet of the last cacheKeep (and of the last 511: the
	// slots' bound, which the rates here stay under) must be there.
	for i := 1; i < videoCachePackets; i++ {
		q := s.seq - uint16(i)
		age := s.now - s.sent[q]
		if age > cacheKeep {
			return
		}
		got := s.c.get(q)
		if len(got) == s.size[q] && got[0] == byte(int(q)*7) && got[len(got)-1] == byte(int(q)*7+len(got)-1) {
			continue
		}
		s.short += gap
		if s.worst == 0 || age < s.worst {
			s.worst = age
		}
		if s.first == 0 {
			s.first = s.now
		}
		return
	}
}

// r2Size is a packet size for rate: video packets of 1,100 bytes, smaller
// ones below 440 kbit/s so that a packet goes at least every 20 ms.
func r2Size(rate int) int {
	return max(min(1100, rate/8/50), 60)
}

// r2Rates are bitrates from 50 kbit/s to 4 Mbit/s in steps of about 1.2
// (4 Mbit/s of 1,100-byte packets is 455 a second, under the slots' 512).
func r2Rates() []int {
	var rates []int
	for r := 50_000.0; r <= 4_000_000; r *= 1.2 {
		rates = append(rates, int(r))
	}
	return rates
}

func (s *r2Stream) report() string {
	if s.short == 0 {
		return fmt.Sprintf("ring %d KiB, nothing of the last second missing", len(s.c.buf)>>10)
	}
	return fmt.Sprintf("ring %d KiB; for %.2f s a packet of the last second was missing (the youngest %.2f s old)", len(s.c.buf)>>10, float64(s.short)/1e9, float64(s.worst)/1e9)
}

// TestReview2CacheKeepsASecondAtEveryRate: a publisher at a steady rate,
// once the ring has settled (10 s), never has a packet of its last second
// missing, at any rate from 50 kbit/s to 4 Mbit/s.
func TestReview2CacheKeepsASecondAtEveryRate(t *testing.T) {
	for _, rate := range r2Rates() {
		s := newR2Stream()
		s.send(rate, r2Size(rate), 10*cacheKeep)
		s.check = true
		s.send(rate, r2Size(rate), 30*cacheKeep)
		if s.short != 0 {
			t.Errorf("%d bit/s: %s", rate, s.report())
		}
	}
}

// TestReview2CacheKeepsASecondWhenAPublisherSlows: a publisher settled at
// one rate slows (its uplink starved, its encoder's target cut) to a
// fraction of it, at once or over a few seconds: while it is slow, no
// packet of its last second may be missing. The ring shrinks as the laps
// get long; what it keeps must still cover a second at the new rate.
func TestReview2CacheKeepsASecondWhenAPublisherSlows(t *testing.T) {
	for _, from := range []int{4_000_000, 2_500_000, 1_500_000, 1_000_000, 500_000, 250_000} {
		for _, f := range []float64{1.25, 1.5, 2, 3, 5, 10} {
			to := int(float64(from) / f)
			s := newR2Stream()
			s.send(from, r2Size(from), 10*cacheKeep)
			s.check = true
			s.send(to, r2Size(to), 30*cacheKeep)
			if s.short != 0 {
				t.Errorf("%d → %d bit/s at once: %s", from, to, s.report())
			}
			// The same over 5 s, in twenty steps.
			s = newR2Stream()
			s.send(from, r2Size(from), 10*cacheKeep)
			s.check = true
			for i := 1; i <= 20; i++ {
				r := from - int(float64(from-to)*float64(i)/20)
				s.send(r, r2Size(r), cacheKeep/4)
			}
			s.send(to, r2Size(to), 30*cacheKeep)
			if s.short != 0 {
				t.Errorf("%d → %d bit/s over 5 s: %s", from, to, s.report())
			}
		}
	}
}
