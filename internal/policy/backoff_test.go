package policy

import (
	"testing"
	"time"
)

func TestBackoffDoublesUpToMaxAndForgets(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	b := NewBackoff(time.Second, 8*time.Second, time.Minute, c.now)
	for i, want := range []time.Duration{1, 2, 4, 8, 8} {
		if got := b.Fail("acct"); got != want*time.Second {
			t.Fatalf("failure %d owes %v, want %v", i+1, got, want*time.Second)
		}
	}
	if got := b.Fail("other"); got != time.Second {
		t.Fatalf("another key's first failure owes %v", got)
	}
	c.advance(time.Minute)
	if got := b.Fail("acct"); got != time.Second {
		t.Fatalf("after a quiet Forget, owes %v, want the base again", got)
	}
}

func TestBackoffHold(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	b := NewBackoff(time.Second, time.Minute, time.Minute, c.now)
	if b.Wait("ip") != 0 {
		t.Fatal("a fresh key is held")
	}
	b.Hold("ip", 4*time.Second)
	b.Hold("ip", time.Second) // a shorter hold does not shorten it
	if got := b.Wait("ip"); got != 4*time.Second {
		t.Fatalf("wait = %v, want 4s", got)
	}
	if b.Wait("other") != 0 {
		t.Fatal("holding one key held another")
	}
	c.advance(4 * time.Second)
	if got := b.Wait("ip"); got != 0 {
		t.Fatalf("still held %v after the hold ran out", got)
	}
	c.advance(2 * time.Minute)
	b.Wait("x") // prunes
	if n := b.Len(); n != 0 {
		t.Fatalf("%d keys kept after they were free and forgotten", n)
	}
}
