package signal

import (
	"sync"
	"sync/atomic"
)

// outbox is a session's queue of frames waiting to be written, at most
// outboxSize of them, and who writes them: a goroutine started by the
// put that finds nobody writing, which returns once it has emptied the
// queue.
//
// Both were once fixed costs of every session for the whole call: a
// buffered channel of outboxSize frames (10 KiB: 256 frames of 40 bytes)
// and a writer goroutine waiting on it (its stack). At 1→100 they were
// about a twentieth of a subscriber's memory, who after joining receives
// a message a minute, if that (BENCHMARKS.md, "Memory per participant").
// Now the slice grows with what waits and is let go once emptied, and
// the writer exists while there is something to write. Order is kept: at
// most one writer runs at a time, and it takes the frames oldest first.
type outbox struct {
	mu   sync.Mutex
	q    []frame // q[head:] wait, oldest first
	head int
	// writing: a writer runs (it was started by put, it has not
	// returned through next or quit); stopped: the session is over, no
	// writer starts again.
	writing, stopped bool
	writers          sync.WaitGroup
	// n is len(q)-head, for congested, which must not take mu.
	n atomic.Int32
}

// keptCap is the most slots an emptied outbox keeps for the next
// message: the usual burst (an offer and its candidates, a roster
// change) fits, a long backlog's array goes.
const keptCap = 8

func newOutbox() *outbox { return &outbox{} }

// len is how many frames wait.
func (o *outbox) len() int { return int(o.n.Load()) }

// put queues f and reports whether there was room (outboxSize frames);
// start says that nobody is writing, so the caller must start a writer
// (a goroutine that calls next until it says stop). After stop, put
// drops f and says there was room: the session is over.
func (o *outbox) put(f frame) (ok, start bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return true, false
	}
	if len(o.q)-o.head >= outboxSize {
		return false, false
	}
	if o.head > 0 && len(o.q) == cap(o.q) {
		// Slide what waits to the front rather than grow.
		k := copy(o.q, o.q[o.head:])
		clear(o.q[k:])
		o.q, o.head = o.q[:k], 0
	}
	o.q = append(o.q, f)
	o.n.Add(1)
	if !o.writing {
		o.writing = true
		o.writers.Add(1)
		start = true
	}
	return true, start
}

// next gives the writer the oldest frame; ok false means the outbox is
// empty (or stopped) and the writer must return: the next put starts
// another.
func (o *outbox) next() (f frame, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.head == len(o.q) || o.stopped {
		o.writing = false
		o.writers.Done()
		return frame{}, false
	}
	f = o.q[o.head]
	o.q[o.head] = frame{} // the writer holds the data now, not the queue
	o.head++
	o.n.Add(-1)
	if o.head == len(o.q) {
		if cap(o.q) > keptCap {
			o.q = nil
		} else {
			o.q = o.q[:0]
		}
		o.head = 0
	}
	return f, true
}

// quit is the writer returning without emptying the outbox (the
// session ended).
func (o *outbox) quit() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writing = false
	o.writers.Done()
}

// stop ends the outbox: no writer starts again, and it returns once the
// one writing (if any) has returned.
func (o *outbox) stop() {
	o.mu.Lock()
	o.stopped = true
	o.mu.Unlock()
	o.writers.Wait()
}
