package sfu

import "testing"

// TestCacheGrowsToTheStepItNeeds: a ring that laps too fast grows at once
// to the smallest step that holds cacheKeep at the lap's bitrate, so a
// steady stream's ring holds under 1.5 times cacheKeep, and a join's
// burst of key frames that makes one lap of a 500 kbit/s layer short
// leaves it a step above what the layer needs. Rings that doubled held up
// to twice cacheKeep (1.5 Mbit/s: 256 KiB, 2.5 Mbit/s: 512), and the burst
// left a 500 kbit/s layer at 128 KiB for good (2.1 s). A burst that laps
// the ring faster sizes it for the burst's bitrate, as before: a ring
// shrinks only after a lap over cacheShrinkAfter.
func TestCacheGrowsToTheStepItNeeds(t *testing.T) {
	for _, c := range []struct {
		name       string
		rate       int
		burst      bool
		wantAtMost int
	}{
		{"1.5 Mbit/s", 1_500_000, false, 192 << 10},
		{"2.5 Mbit/s", 2_500_000, false, 384 << 10},
		{"500 kbit/s", 500_000, false, 96 << 10},
		{"500 kbit/s after a join's key frames", 500_000, true, 96 << 10},
	} {
		pc := newPacketCache(videoCachePackets)
		now, seq := int64(1), uint16(0)
		feed(pc, &now, &seq, c.rate, 1000, 3*cacheKeep)
		if c.burst {
			// Key frames for joiners: twice the bitrate for a quarter of
			// a second, enough to make one lap of a 64 KiB ring short.
			feed(pc, &now, &seq, 2*c.rate, 1000, cacheKeep/4)
		}
		feed(pc, &now, &seq, c.rate, 1000, 3*cacheShrinkAfter)
		held := float64(len(pc.buf)) * 8 / float64(c.rate)
		t.Logf("%s: ring %d KiB, %.2f s", c.name, len(pc.buf)>>10, held)
		if len(pc.buf) > c.wantAtMost {
			t.Errorf("%s: ring %d KiB (%.2f s), want at most %d KiB", c.name, len(pc.buf)>>10, held, c.wantAtMost>>10)
		}
		if held < float64(cacheKeep)/1e9 {
			t.Errorf("%s: ring %d KiB holds %.2f s, want at least %.2f s", c.name, len(pc.buf)>>10, held, float64(cacheKeep)/1e9)
		}
	}
}

// TestGrownRingSize: the step a lap asks for.
func TestGrownRingSize(t *testing.T) {
	for _, c := range []struct {
		ring int
		lap  int64
		want int
	}{
		{32 << 10, cacheKeep * 9 / 10, 48 << 10},   // just short: one step
		{64 << 10, cacheKeep * 9 / 10, 96 << 10},   // 71 KiB needed
		{64 << 10, cacheKeep / 2, 128 << 10},       // 128 KiB needed exactly
		{64 << 10, cacheKeep/2 - 1, 192 << 10},     // a little more
		{32 << 10, cacheKeep / 100, cacheMaxBytes}, // at most the largest
		{768 << 10, cacheKeep / 2, cacheMaxBytes},
		{64 << 10, 0, 96 << 10},          // a lap in no time: the clock stepped back
		{64 << 10, -cacheKeep, 96 << 10}, // or further
	} {
		if got := grownRingSize(c.ring, c.lap); got != c.want {
			t.Errorf("grownRingSize(%d KiB, %.3f s) = %d KiB, want %d KiB", c.ring>>10, float64(c.lap)/1e9, got>>10, c.want>>10)
		}
	}
}
