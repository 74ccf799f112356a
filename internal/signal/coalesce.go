package signal

import "sync"

// coalesced runs work on its own goroutine for each trigger, but never
// two at once and never more than one queued: the triggers that arrive
// while a run is under way are served together by one run after it. A
// node's checks of every live meeting on kaigi.regions.changed go through
// one (entrycheck.go), so that a flood of that broadcast (any meeting
// owner's settings saves, or a forged publisher) costs each node at most
// one check in flight and one waiting, not one per message.
type coalesced struct {
	mu             sync.Mutex
	running, again bool
}

// trigger asks for a run of work: started now if none is under way,
// else once the one under way ends (however many ask meanwhile).
func (c *coalesced) trigger(work func()) {
	c.mu.Lock()
	if c.running {
		c.again = true
		c.mu.Unlock()
		return
	}
	c.running = true
	c.mu.Unlock()
	go func() {
		for {
			work()
			c.mu.Lock()
			if !c.again {
				c.running = false
				c.mu.Unlock()
				return
			}
			c.again = false
			c.mu.Unlock()
		}
	}()
}
