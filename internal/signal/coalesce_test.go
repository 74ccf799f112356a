package signal

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestRegionsChangedCoalesced: a flood of kaigi.regions.changed
// messages (each one a check of every live meeting against the store)
// while a check runs costs one more check, not one per message, and a
// message arriving after a check started is never left unserved.
func TestRegionsChangedCoalesced(t *testing.T) {
	var c coalesced
	var runs atomic.Int32
	started := make(chan struct{}, 16)
	release := make(chan struct{})
	work := func() {
		runs.Add(1)
		started <- struct{}{}
		<-release
	}
	c.trigger(work)
	<-started // the first check is under way
	for range 1000 {
		c.trigger(work)
	}
	release <- struct{}{} // the first ends; one more serves the 1000
	<-started
	release <- struct{}{}
	// Triggered again once nothing runs: served.
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		idle := !c.running
		c.mu.Unlock()
		if idle {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the second check never ended")
		case <-time.After(time.Millisecond):
		}
	}
	if n := runs.Load(); n != 2 {
		t.Fatalf("%d checks for 1001 messages, one of them arriving before the rest; want 2", n)
	}
	c.trigger(work)
	select {
	case <-started:
	case <-deadline:
		t.Fatal("a message after the checks ended was not served")
	}
	close(release)
}

// TestRegionsChangedElsewhereCoalesces: the broadcast's handler
// goes through the coalescer (a handler running the check itself, on the
// NATS subscription, would queue one check per message).
func TestRegionsChangedElsewhereCoalesces(t *testing.T) {
	s := &Server{}
	s.regionsCheck.mu.Lock()
	s.regionsCheck.running = true // a check under way
	s.regionsCheck.mu.Unlock()
	s.regionsChangedElsewhere([]byte(`{"from":"eu2"}`), "eu1")
	s.regionsCheck.mu.Lock()
	again := s.regionsCheck.again
	s.regionsCheck.mu.Unlock()
	if !again {
		t.Fatal("a regions.changed message during a check did not ask for one more")
	}
}
