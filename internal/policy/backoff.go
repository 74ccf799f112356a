package policy

import (
	"sync"
	"time"
)

// Backoff keeps a growing delay per key: each failure counted against a
// key doubles the delay it owes, from Base up to Max, and a key left alone
// for Forget starts again from Base. It can also hold a key back until a
// time, so that the delay earned by one key (an account under attack) can
// be served by another (the address that failed against it).
type Backoff struct {
	base, max, forget time.Duration
	now               func() time.Time

	mu        sync.Mutex
	entries   map[string]*backoffEntry
	lastPrune time.Time
}

type backoffEntry struct {
	failures int
	last     time.Time // last failure or hold
	until    time.Time // held back until then
}

// NewBackoff returns a Backoff. now is the clock; nil means time.Now.
func NewBackoff(base, max, forget time.Duration, now func() time.Time) *Backoff {
	if now == nil {
		now = time.Now
	}
	return &Backoff{base: base, max: max, forget: forget, now: now, entries: make(map[string]*backoffEntry)}
}

// Fail counts a failure against key and returns the delay it now owes:
// Base for the first, doubling with each further one, at most Max.
func (b *Backoff) Fail(key string) time.Duration {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entryLocked(key, now)
	e.failures++
	e.last = now
	d := b.base
	for i := 1; i < e.failures && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// Hold holds key back for d from now; a longer hold already running is
// kept.
func (b *Backoff) Hold(key string, d time.Duration) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entryLocked(key, now)
	e.last = now
	if until := now.Add(d); until.After(e.until) {
		e.until = until
	}
}

// Wait returns how long key is still held back; zero when it is free.
func (b *Backoff) Wait(key string) time.Duration {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(now)
	e := b.entries[key]
	if e == nil || !now.Before(e.until) {
		return 0
	}
	return e.until.Sub(now)
}

func (b *Backoff) entryLocked(key string, now time.Time) *backoffEntry {
	b.pruneLocked(now)
	e := b.entries[key]
	if e == nil || now.Sub(e.last) >= b.forget && !now.Before(e.until) {
		e = &backoffEntry{}
		b.entries[key] = e
	}
	return e
}

// pruneLocked drops keys that are free and forgotten, at most once per
// Forget, so memory is bounded by the keys active recently.
func (b *Backoff) pruneLocked(now time.Time) {
	if now.Sub(b.lastPrune) < b.forget {
		return
	}
	b.lastPrune = now
	for k, e := range b.entries {
		if now.Sub(e.last) >= b.forget && !now.Before(e.until) {
			delete(b.entries, k)
		}
	}
}

// Len returns the number of keys tracked (for tests and metrics).
func (b *Backoff) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.entries)
}
