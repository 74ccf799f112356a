package policy

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newTestLimiter(r Rate) (*Limiter, *clock) {
	c := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	return NewLimiter(r, c.now), c
}

func TestBurstThenRate(t *testing.T) {
	l, c := newTestLimiter(Rate{Every: 10 * time.Second, Burst: 3})
	for i := range 3 {
		if !l.Allow("ip") {
			t.Fatalf("attempt %d of the burst refused", i+1)
		}
	}
	if l.Allow("ip") {
		t.Fatal("fourth attempt allowed")
	}
	if !l.Allow("other") {
		t.Fatal("another key was limited by the first")
	}
	c.advance(9 * time.Second)
	if l.Allow("ip") {
		t.Fatal("allowed before a token came back")
	}
	c.advance(time.Second)
	if !l.Allow("ip") {
		t.Fatal("refused after a token came back")
	}
	if l.Allow("ip") {
		t.Fatal("allowed twice on one token")
	}
}

func TestPeekDoesNotCount(t *testing.T) {
	l, _ := newTestLimiter(Rate{Every: time.Minute, Burst: 1})
	for range 5 {
		if !l.Peek("k") {
			t.Fatal("peek refused a fresh key")
		}
	}
	l.Allow("k")
	if l.Peek("k") {
		t.Fatal("peek allowed an empty bucket")
	}
}

// TestIdleKeysAreForgotten: a flood of made-up keys does not grow memory
// beyond what is recent.
func TestIdleKeysAreForgotten(t *testing.T) {
	l, c := newTestLimiter(Rate{Every: time.Second, Burst: 5})
	for i := range 10000 {
		l.Allow(fmt.Sprint("attacker-", i))
	}
	if l.Len() != 10000 {
		t.Fatalf("tracked %d keys", l.Len())
	}
	c.advance(6 * time.Second)
	l.Allow("fresh")
	if l.Len() != 1 {
		t.Fatalf("after the refill period %d keys remain, want 1", l.Len())
	}
}

// TestForgettingChangesNothing: a key dropped after refilling behaves
// exactly as one that was kept.
func TestForgettingChangesNothing(t *testing.T) {
	l, c := newTestLimiter(Rate{Every: time.Second, Burst: 2})
	l.Allow("k")
	l.Allow("k")
	c.advance(2 * time.Second)
	l.Allow("other") // prunes k
	first, second, third := l.Allow("k"), l.Allow("k"), l.Allow("k")
	if !first || !second || third {
		t.Fatalf("a forgotten key did not start with a full burst, or got more: %v %v %v", first, second, third)
	}
}
