package signal

import (
	"testing"
	"time"
)

// TestBudget: what a real client sends is never held back; a flood is
// held back at once and soon runs out of patience.
func TestBudget(t *testing.T) {
	start := time.Unix(0, 0)
	b := newBudget(start)
	now := start
	// Joining: hello, a burst of candidates, a video size for each of 100
	// tiles, an offer of 500 KB.
	for i := range 250 {
		size := 200
		if i == 0 {
			size = 500 << 10
		}
		if wait, _ := b.charge(now, size, -1); wait != 0 {
			t.Fatalf("message %d of the join burst held back %v", i, wait)
		}
	}
	// Then a minute of a busy meeting: 5 messages a second, and a
	// largest-size end-to-end encrypted message every second.
	for s := range 60 {
		now = now.Add(time.Second)
		for range 5 {
			if wait, _ := b.charge(now, 300, -1); wait != 0 {
				t.Fatalf("second %d: held back %v", s, wait)
			}
		}
		if wait, _ := b.charge(now, 90<<10, 64<<10); wait != 0 {
			t.Fatalf("second %d: an e2ee_message held back %v", s, wait)
		}
	}

	// A flood of relayed messages, sent as fast as the server lets it.
	for _, tc := range []struct {
		name   string
		size   int
		lo, hi int // messages handled before the socket is closed
	}{
		{"large messages", 48 << 10, 20, 40},
		{"chat-sized messages", 300, 100, 160},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBudget(start)
			now := start
			for n := 0; ; n++ {
				wait, exhausted := b.charge(now, tc.size*4/3+60, tc.size)
				if exhausted {
					if n < tc.lo || n > tc.hi {
						t.Fatalf("closed after %d messages, want %d to %d", n, tc.lo, tc.hi)
					}
					if d := now.Sub(start); d > 3*time.Second {
						t.Fatalf("closed only after %v", d)
					}
					return
				}
				now = now.Add(wait)
			}
		})
	}
}

// TestBudgetCredit: a socket held back for 6 s because a recipient was
// congested had its client keep sending messages of 48 KiB at the relay
// budget's rate (256 KiB/s); when it is read again, the 32 messages
// that waited in it arrive at once and are not held back nor counted as
// flooding. Without the credit, the relay burst (1 MiB) would be
// overdrawn. The credit is what the time earns, no more: a second burst
// right after is held back, and credits do not stack.
func TestBudgetCredit(t *testing.T) {
	start := time.Unix(0, 0)
	const size = 48 << 10
	b := newBudget(start)
	// The last message before the hold spends the relay burst.
	now := start
	for range 21 {
		b.charge(now, size*4/3, size)
	}
	now = now.Add(6 * time.Second)
	b.credit(6 * time.Second)
	for i := range 32 {
		if wait, exhausted := b.charge(now, size*4/3, size); exhausted {
			t.Fatalf("message %d of those that waited closed the socket (held back %v)", i, wait)
		}
	}
	if wait, _ := b.charge(now, size*4/3, size); wait == 0 {
		t.Fatal("a message beyond what the 6 s earned is not held back")
	}
	// Credits do not stack: two holds in a row, unspent, give the burst
	// plus the second hold's earnings, not both holds'.
	b = newBudget(start)
	b.credit(6 * time.Second)
	b.credit(6 * time.Second)
	if got, want := b.relayBytes.tokens, float64(budgetRelayBytes+6*budgetRelayByteRate); got != want {
		t.Fatalf("after two unspent 6 s credits the relay bytes bucket holds %.0f, want %.0f", got, want)
	}
	// Without the credit the same backlog exhausts its patience.
	b = newBudget(start)
	for range 21 {
		b.charge(start, size*4/3, size)
	}
	exhausted := false
	for range 32 {
		_, e := b.charge(now, size*4/3, size)
		exhausted = exhausted || e
	}
	if !exhausted {
		t.Fatal("without the credit the backlog was not flooding: the test does not test")
	}
}
