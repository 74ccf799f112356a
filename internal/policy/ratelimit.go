package policy

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: Burst attempts at once, then one every Every.
type Rate struct {
	Every time.Duration
	Burst int
}

// Limiter rate-limits attempts per key (an address, an e-mail, a meeting).
// Keys that have been idle long enough to refill completely are dropped,
// so memory stays bounded by the keys active recently, however many an
// attacker makes up.
type Limiter struct {
	rate rate.Limit
	r    Rate
	now  func() time.Time

	mu        sync.Mutex
	entries   map[string]*entry
	lastPrune time.Time
}

type entry struct {
	lim  *rate.Limiter
	last time.Time
}

// NewLimiter returns a limiter allowing r per key. now is the clock; nil
// means time.Now.
func NewLimiter(r Rate, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate.Every(r.Every), r: r, now: now, entries: make(map[string]*entry)}
}

// Allow reports whether one more attempt for key may proceed now, and
// counts it if so.
func (l *Limiter) Allow(key string) bool {
	return l.take(key, true)
}

// Peek reports whether an attempt would be allowed, without counting it.
func (l *Limiter) Peek(key string) bool {
	return l.take(key, false)
}

func (l *Limiter) take(key string, count bool) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	e := l.entries[key]
	if e == nil {
		e = &entry{lim: rate.NewLimiter(l.rate, l.r.Burst)}
		l.entries[key] = e
	}
	e.last = now
	if !count {
		return e.lim.TokensAt(now) >= 1
	}
	return e.lim.AllowN(now, 1)
}

// refill is how long an idle key takes to be back to a full bucket, after
// which forgetting it changes nothing.
func (l *Limiter) refill() time.Duration { return time.Duration(l.r.Burst) * l.r.Every }

// pruneLocked drops fully refilled keys, at most once per refill period.
func (l *Limiter) pruneLocked(now time.Time) {
	idle := l.refill()
	if now.Sub(l.lastPrune) < idle {
		return
	}
	l.lastPrune = now
	for k, e := range l.entries {
		if now.Sub(e.last) >= idle {
			delete(l.entries, k)
		}
	}
}

// Len returns the number of keys tracked (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}
