package sfu

import "testing"

// TestReview3CacheClockStepBack: route's times are the wall clock
// (time.Now().UnixNano() in uptrack.go and relay_in.go), which NTP may
// step back. A lap that so seems to end before it began makes
// grownRingSize (lap <= 0) grow the ring straight to cacheMaxBytes: every
// layer of every publisher whose lap ends across the step takes 1 MiB at
// once (a 20x20 simulcast meeting: 60 MiB), and gives it back a step per
// 4 s lap. Before 9705edd such a lap grew a ring one step.
func TestReview3CacheClockStepBack(t *testing.T) {
	c := newPacketCache(videoCachePackets)
	now, seq := int64(1e18), uint16(0)
	feed(c, &now, &seq, 300_000, 1000, 20*cacheKeep) // settled: 300 kbit/s
	settled := len(c.buf)
	now -= 5 * cacheKeep // the clock is stepped back 5 s
	feed(c, &now, &seq, 300_000, 1000, 3*cacheKeep)
	if len(c.buf) > nextRingSize(settled) {
		t.Errorf("a 300 kbit/s layer's ring went from %d to %d bytes when the clock stepped back", settled, len(c.buf))
	}
}
