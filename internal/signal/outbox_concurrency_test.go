package signal

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
)

// TestOutboxConcurrentPutsNoLostWakeup: many goroutines queue at once
// (a meeting's broadcasts reach a session from every sender's reader)
// while writers come and go as the outbox empties. Every frame accepted
// is written exactly once, each sender's frames in the order it queued
// them, never by two writers at once, and once all puts are done no
// frame is left waiting with no writer (the lost wakeup a writer
// returning between a put and its start would cause). Run with -race.
func TestOutboxConcurrentPutsNoLostWakeup(t *testing.T) {
	const senders, each = 8, 2000
	o := newOutbox()
	var (
		running  atomic.Int32
		overlap  atomic.Bool
		mu       sync.Mutex
		last     [senders]int
		written  int
		writerWG sync.WaitGroup
	)
	for i := range last {
		last[i] = -1
	}
	writer := func() {
		defer writerWG.Done()
		for {
			f, ok := o.next()
			if !ok {
				return
			}
			// Between taking a frame and being done with it, no other
			// writer may hold one (a writer's exit, next's stop, is
			// under the outbox's lock, so the next writer only starts
			// after it).
			if running.Add(1) != 1 {
				overlap.Store(true)
			}
			s, n := int(f.data[0]), int(binary.BigEndian.Uint32(f.data[1:]))
			mu.Lock()
			if n <= last[s] {
				t.Errorf("sender %d: frame %d written after %d", s, n, last[s])
			}
			last[s] = n
			written++
			mu.Unlock()
			running.Add(-1)
		}
	}
	var accepted atomic.Int64
	var puts sync.WaitGroup
	for s := range senders {
		puts.Add(1)
		go func() {
			defer puts.Done()
			for n := range each {
				b := make([]byte, 5)
				b[0] = byte(s)
				binary.BigEndian.PutUint32(b[1:], uint32(n))
				ok, start := o.put(frame{data: b})
				if !ok {
					continue // full: a session would close; here the frame is simply refused
				}
				accepted.Add(1)
				if start {
					writerWG.Add(1)
					go writer()
				}
			}
		}()
	}
	puts.Wait()
	writerWG.Wait()
	if overlap.Load() {
		t.Fatal("two writers ran at once")
	}
	if n := o.len(); n != 0 {
		t.Fatalf("%d frames left waiting with no writer (lost wakeup)", n)
	}
	if int64(written) != accepted.Load() {
		t.Fatalf("%d frames written, %d accepted", written, accepted.Load())
	}
	o.stop() // returns: no writer left
}
