package signal

import (
	"time"

	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Limits per socket on kinds of end-to-end encrypted application message
// that a client sends often by nature and that others see at once:
// reactions. The server cannot read them, only their envelope's kind; a
// client that lies about the kind is still bound by the relay budget
// (budget.go), and receivers drop reactions beyond their own limit.
//
// Clients send at most 3 reactions a second and 20 a minute
// (web/src/meeting/reactions.ts); the server allows some slack for
// messages that arrive bunched: a burst of 5, then 3 a second, and a burst
// of 25, then 20 a minute. What is over is dropped (not relayed) and the
// sender is told once a second at most, with error rate_limited.
//
// A host's broadcast to all breakout rooms (breakout_broadcast, a
// signalling message the server relays to every room) is limited per
// socket too: a burst of 3, then one every 10 seconds; one over is not
// relayed and its sender gets error rate_limited.

const (
	broadcastBurst = 3
	broadcastRate  = 0.1
)

const (
	reactionBurst       = 5
	reactionRate        = 3.0
	reactionMinuteBurst = 25
	reactionMinuteRate  = 20.0 / 60
)

// kindLimits is one socket's limits per application-message kind; only
// its reader goroutine uses it. The zero value is ready.
type kindLimits struct {
	reaction, reactionMinute *bucket
	broadcast                *bucket
	lastTold                 time.Time
}

// allowBroadcast reports whether a breakout broadcast may be relayed now,
// and spends it if so.
func (k *kindLimits) allowBroadcast(now time.Time) bool {
	if k.broadcast == nil {
		b := newBucket(broadcastBurst, broadcastRate, now)
		k.broadcast = &b
	}
	if !k.broadcast.has(now, 1) {
		return false
	}
	k.broadcast.take(now, 1)
	return true
}

// allow reports whether an application message of this kind may be
// relayed now; a kind without a limit always may.
func (k *kindLimits) allow(kind string, now time.Time) bool {
	if kind != "reaction" {
		return true
	}
	if k.reaction == nil {
		b, m := newBucket(reactionBurst, reactionRate, now), newBucket(reactionMinuteBurst, reactionMinuteRate, now)
		k.reaction, k.reactionMinute = &b, &m
	}
	// Check both before spending, so a refused message costs nothing.
	if !k.reaction.has(now, 1) || !k.reactionMinute.has(now, 1) {
		return false
	}
	k.reaction.take(now, 1)
	k.reactionMinute.take(now, 1)
	return true
}

// has reports whether the bucket holds n tokens now, refilling it first.
func (b *bucket) has(now time.Time, n float64) bool {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
	return b.tokens >= n
}

// kindAllowed checks an e2ee_message against the socket's per-kind
// limits, and tells the client (at most once a second) when it drops one.
func (s *session) kindAllowed(kind string, ref int64) bool {
	now := time.Now()
	if s.kinds.allow(kind, now) {
		return true
	}
	if now.Sub(s.kinds.lastTold) >= time.Second {
		s.kinds.lastTold = now
		s.sendError(wire.CodeRateLimited, "Too many reactions: some were not sent.", ref)
	}
	return false
}
