package signal

import "time"

// Each socket's budget for what it sends: so that one participant cannot
// burn the server's CPU, nor fill the other participants' outboxes with
// what the server relays to them (until the server closes their sockets
// as too slow). A real client sends a few messages a second, a burst of
// ICE candidates and video sizes now and then, and end-to-end encrypted
// messages of at most 64 KiB; the budgets are many times that.
//
// Past a budget the socket is first slowed: the server stops reading it
// until the budget has recovered, then handles the message. A socket held
// back for too long in all (patience) is closed with "closed" reason
// "flooding". Only the sender is affected.
const (
	// Every message: a burst of 300, then 50 a second; 8 MiB, then
	// 2 MiB a second.
	budgetMessages    = 300
	budgetMessageRate = 50
	budgetBytes       = 8 << 20
	budgetByteRate    = 2 << 20
	// e2ee_message, which the server fans out to every member: a burst of
	// 100, then 20 a second; 1 MiB of data (16 messages of the largest
	// size), then 256 KiB a second.
	budgetRelayMessages    = 100
	budgetRelayMessageRate = 20
	budgetRelayBytes       = 1 << 20
	budgetRelayByteRate    = 256 << 10
	// patience is how long in all (seconds) a socket may be held back
	// before it is closed; it regains one second every ten.
	budgetPatience     = 2
	budgetPatienceRate = 0.1
)

// bucket is a token bucket that may go into debt: take always succeeds
// and says how long the debt takes to repay.
type bucket struct {
	burst, rate float64 // tokens; tokens a second
	tokens      float64
	last        time.Time
}

func newBucket(burst, rate float64, now time.Time) bucket {
	return bucket{burst: burst, rate: rate, tokens: burst, last: now}
}

// take spends n tokens and returns how long until the bucket is out of
// debt again (0 if it is not in debt).
func (b *bucket) take(now time.Time, n float64) time.Duration {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		if b.tokens < b.burst { // a credit above the burst is kept until spent
			b.tokens = min(b.burst, b.tokens+dt*b.rate)
		}
		b.last = now
	}
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// credit gives the bucket what it earns in d, which just passed, even
// above its burst (kept until spent), and moves its clock past d so that
// d is not earned twice: the time a socket was held back for others is
// not spent against it. Credits do not stack: whatever is above the
// burst from an earlier hold is dropped first, so holds sought on purpose
// cannot save up a flood.
func (b *bucket) credit(d time.Duration) {
	b.tokens = min(b.tokens, b.burst) + d.Seconds()*b.rate
	b.last = b.last.Add(d)
}

// budget is one socket's budgets; only its reader goroutine uses it.
type budget struct {
	messages, bytes, relayMessages, relayBytes bucket
	// patience is spent in seconds held back.
	patience bucket
	// slowed is set while the socket is being held back, to warn the
	// client once per episode.
	slowed bool
}

func newBudget(now time.Time) *budget {
	return &budget{
		messages:      newBucket(budgetMessages, budgetMessageRate, now),
		bytes:         newBucket(budgetBytes, budgetByteRate, now),
		relayMessages: newBucket(budgetRelayMessages, budgetRelayMessageRate, now),
		relayBytes:    newBucket(budgetRelayBytes, budgetRelayByteRate, now),
		patience:      newBucket(budgetPatience, budgetPatienceRate, now),
	}
}

// credit gives back the time the socket was held back for congested
// recipients (backpressure.go): what its client sent meanwhile, at no
// more than the budgets' rates, arrives at once and must not count as
// flooding.
func (b *budget) credit(d time.Duration) {
	for _, k := range []*bucket{&b.messages, &b.bytes, &b.relayMessages, &b.relayBytes} {
		k.credit(d)
	}
}

// charge spends one message of size bytes, of which relayed bytes are
// relayed to other members (relayed < 0: not a relayed message), and
// returns how long the socket must be held back, and whether it has run
// out of patience and must be closed instead.
func (b *budget) charge(now time.Time, size, relayed int) (wait time.Duration, exhausted bool) {
	wait = max(b.messages.take(now, 1), b.bytes.take(now, float64(size)))
	if relayed >= 0 {
		wait = max(wait, b.relayMessages.take(now, 1), b.relayBytes.take(now, float64(relayed)))
	}
	if wait == 0 {
		return 0, false
	}
	return wait, b.patience.take(now, wait.Seconds()) > 0
}
