package sfu

import (
	"slices"
	"sync"
	"time"
)

// The key frame a simulcast subscriber starts on.
//
// A subscriber's first video frame must be a key frame, and the publisher
// is asked for at most one key frame per layer per keyframeInterval. With
// one layer, a subscriber whose transport comes up just after a request
// waits the whole interval. With simulcast the limit is per layer, so a
// joiner need not wait for its target layer: it starts on the first key
// frame of whichever layer comes first and moves to its target at that
// layer's next key frame, through the usual layer switch (which keeps
// sequence numbers, timestamps and VP8 picture IDs running on).
//
// When a joiner's transport comes up (DownTrack.requestKeyframe before its
// first frame), the layer it starts on is the one whose key frame can come
// soonest:
//
//   - a layer whose key frame was asked for and has not arrived yet is
//     coming now: every joiner meanwhile shares it;
//   - a layer whose request is owed (inside the layer's interval, or
//     waiting for the track's next slot) comes when the request is sent;
//   - any other layer can be asked once its own interval has ended and the
//     track's next slot opens (keyframeSlot).
//
// The slots are what make this work in a storm of joins: a simulcast
// track's layers are asked for at most one per keyframeInterval divided by
// the live layers (167 ms with three), so their requests take turns
// instead of all three being spent in the storm's first milliseconds and
// leaving everyone after to wait for the next interval. A joiner then
// waits at most about one slot and a frame. The slots apply to every key
// frame request of a simulcast track (a layer switch may wait up to one
// slot longer), so a publisher is never asked for more key frames than
// one per slot, whichever layers they are of: this matters for encoders
// that make a key frame on every layer when any layer is asked for one
// (libwebrtc's VP8 simulcast does).
//
// Among equally soon layers the target is preferred, then the layers below
// it (the highest first), then those above (the lowest first). A layer
// above the target is taken only when none at or below it can come within
// a slot: it costs the subscriber's path more, until the target's key
// frame. A joiner that starts on another layer than its target asks for
// the target's key frame at once (owed if the throttle says so).
//
// Every request still goes through layer.requestKeyframe, so the publisher
// is never asked for a layer more often than once per keyframeInterval.
// Under end-to-end encryption nothing changes: the SFU reads only the key
// frame bit and the payload descriptor, which stay in clear, and every
// frame a joiner gets is live, not a replayed one from before its epoch.

// keyframeSpacing is the least time between two key frame requests of a
// simulcast track with live layers.
func keyframeSpacing(live int) time.Duration {
	return keyframeInterval / time.Duration(max(1, live))
}

// keyframeSlot returns when layer i's key frame request is sent if asked
// at now: at the earliest at earliest (the end of the layer's own
// interval), in the first slot that keeps keyframeSpacing from the last
// request sent and from those owed (each sent at its own time). If that is
// now, the slot is taken; otherwise it is reserved for the layer until the
// request is sent. A track without simulcast has no slots.
func (u *UpTrack) keyframeSlot(i int, now, earliest time.Time) time.Time {
	at := now
	if earliest.After(at) {
		at = earliest
	}
	if !u.simulcast {
		return at
	}
	s := &u.starts
	s.slotMu.Lock()
	defer s.slotMu.Unlock()
	at = s.freeSlotLocked(at, keyframeSpacing(u.liveCount(now.UnixNano())), i)
	if at.After(now) {
		s.owed[i] = at
		return at
	}
	s.last, s.owed[i] = now, time.Time{}
	return now
}

// slotSlack is how much a new request may delay an owed one. Timers fire
// a little late, so requests meant to be a slot apart are often a little
// less: without slack, a layer free a slot before an owed request would
// wait until after it, leaving a gap of two slots.
func slotSlack(spacing time.Duration) time.Duration { return spacing / 8 }

// freeSlotLocked is the first slot at or after from that keeps spacing
// from the last request sent and from those owed, but layer except's.
// Called with slotMu held.
func (s *startScheduler) freeSlotLocked(from time.Time, spacing time.Duration, except int) time.Time {
	at := from
	if !s.last.IsZero() && s.last.Add(spacing).After(at) {
		at = s.last.Add(spacing)
	}
	var owed [maxLayers]time.Time
	n := 0
	for i, due := range s.owed {
		if i != except && !due.IsZero() {
			owed[n] = due
			n++
		}
	}
	slices.SortFunc(owed[:n], time.Time.Compare)
	for _, due := range owed[:n] {
		if !at.After(due.Add(-spacing + slotSlack(spacing))) {
			break // sent before it, delaying it by a timer's lateness at most
		}
		if at.Before(due.Add(spacing)) {
			at = due.Add(spacing)
		}
	}
	return at
}

// freeSlot is when a request of a layer that is free at from would be
// sent.
func (u *UpTrack) freeSlot(from time.Time, spacing time.Duration) time.Time {
	u.starts.slotMu.Lock()
	defer u.starts.slotMu.Unlock()
	return u.starts.freeSlotLocked(from, spacing, -1)
}

// liveCount is the number of layers that sent new media in the last
// layerTimeout (see layer.lastPacket).
func (u *UpTrack) liveCount(now int64) int {
	n := 0
	for i := range u.layers {
		if l := u.layers[i].Load(); l != nil && now-l.lastPacket.Load() <= int64(layerTimeout) {
			n++
		}
	}
	return n
}

// clock is the time the key frame throttle and the start scheduler read,
// and their timers. Tests drive a fake one; nil is the real clock.
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func())
}

func (u *UpTrack) now() time.Time {
	if u.clock != nil {
		return u.clock.Now()
	}
	return time.Now()
}

func (u *UpTrack) afterFunc(d time.Duration, f func()) {
	if u.clock != nil {
		u.clock.AfterFunc(d, f)
		return
	}
	time.AfterFunc(d, f)
}

// startScheduler is an UpTrack's key frame slots, and the lock that
// makes joiners' choices one at a time, so that the first asks and the
// others see its request coming. Lock order: mu, layer.kmu, slotMu.
type startScheduler struct {
	mu sync.Mutex

	slotMu sync.Mutex
	// last is when the last key frame request of any layer was sent;
	// owed, by layer, the slot reserved for a request not sent yet.
	last time.Time
	owed [maxLayers]time.Time
}

// startState is how soon a layer's next key frame can come.
type startState int

const (
	startInFlight startState = iota // asked for, not yet arrived
	startOwed                       // asked for within the interval: sent when it ends
	startAsk                        // must be asked for
)

// nextKeyframe returns when layer l's next key frame can be sent for a
// joiner asking at now, and how.
func (l *layer) nextKeyframe(now time.Time, spacing time.Duration) (time.Time, startState) {
	l.kmu.Lock()
	req, pending, due := l.lastKeyframeRequest, l.keyframePending, l.keyframeDue
	l.kmu.Unlock()
	if pending {
		return due, startOwed
	}
	if !req.IsZero() && req.UnixNano() >= l.lastKeyframe.Load() && now.Sub(req) < keyframeInterval {
		return now, startInFlight
	}
	from := now
	if free := req.Add(keyframeInterval); !req.IsZero() && free.After(from) {
		from = free
	}
	return l.up.freeSlot(from, spacing), startAsk
}

// requestStart asks for the key frame a simulcast joiner starts on (see
// the top of this file) and lets the DownTrack start on any layer up to
// the one chosen or its target. It reports false, asking nothing, while no
// layer is live.
func (d *DownTrack) requestStart() bool {
	u := d.up
	s := &u.starts
	now := u.now()
	s.mu.Lock()
	live, lowest, highest := u.liveLayers(now.UnixNano())
	t := int(d.target.Load())
	if lowest < 0 || t < 0 || t >= maxLayers {
		s.mu.Unlock()
		return false
	}
	spacing := keyframeSpacing(u.liveCount(now.UnixNano()))
	best, bestAt, bestState := -1, time.Time{}, startAsk
	consider := func(i int) {
		if live[i] == nil {
			return
		}
		at, st := live[i].nextKeyframe(now, spacing)
		if best < 0 || at.Before(bestAt) {
			best, bestAt, bestState = i, at, st
		}
	}
	for i := min(t, highest); i >= lowest; i-- {
		consider(i)
	}
	if best < 0 || bestAt.Sub(now) > spacing {
		for i := t + 1; i <= highest; i++ {
			consider(i)
		}
	}
	d.startMax.Store(int32(max(t, best)))
	if bestState == startAsk {
		live[best].requestKeyframe() // sent now, or owed until its slot
	}
	if best != t && live[min(t, highest)] != nil {
		live[min(t, highest)].requestKeyframe()
	}
	s.mu.Unlock()
	return true
}
