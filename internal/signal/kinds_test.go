package signal

import (
	"testing"
	"time"
)

func TestKindLimitsReactions(t *testing.T) {
	var k kindLimits
	t0 := time.Unix(1000, 0)
	// A burst of 5 passes; the 6th at the same moment does not.
	for i := range reactionBurst {
		if !k.allow("reaction", t0) {
			t.Fatalf("reaction %d of the burst refused", i+1)
		}
	}
	if k.allow("reaction", t0) {
		t.Fatal("a reaction beyond the burst was allowed")
	}
	// Other kinds are not limited here.
	for range 100 {
		if !k.allow("chat", t0) || !k.allow("hand", t0) {
			t.Fatal("a kind without a limit was refused")
		}
	}
	// A second later, 3 more.
	n := 0
	for range 10 {
		if k.allow("reaction", t0.Add(time.Second)) {
			n++
		}
	}
	if n != int(reactionRate) {
		t.Fatalf("%d reactions allowed a second later, want %d", n, int(reactionRate))
	}
	// Steady 3 a second: the per-minute limit stops it near 20 a minute
	// (plus its burst), not 180.
	var m kindLimits
	allowed := 0
	for i := range 600 { // 60 s at 10 tries a second
		if m.allow("reaction", t0.Add(time.Duration(i)*100*time.Millisecond)) {
			allowed++
		}
	}
	if want := reactionMinuteBurst + int(reactionMinuteRate*60); allowed < want-1 || allowed > want+1 {
		t.Fatalf("%d reactions allowed in a minute, want about %d", allowed, want)
	}
}

func TestKindLimitsRefusedCostNothing(t *testing.T) {
	var k kindLimits
	t0 := time.Unix(1000, 0)
	for range reactionBurst {
		k.allow("reaction", t0)
	}
	// Hammering while refused must not push the bucket into debt.
	for range 1000 {
		k.allow("reaction", t0)
	}
	if !k.allow("reaction", t0.Add(time.Second/time.Duration(reactionRate)+time.Millisecond)) {
		t.Fatal("refused reactions were charged: the sender is still locked out")
	}
}
