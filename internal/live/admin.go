package live

import (
	"sort"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// LiveMeeting is a live meeting as an administrator sees it: how many are
// in it, never who or what they say.
type LiveMeeting struct {
	ID            meeting.ID
	Participants  int // admitted, including those reconnecting
	Waiting       int // in the waiting room
	BreakoutRooms int // open breakout rooms
	Locked        bool
}

// LiveMeetings lists the meetings someone is in or waiting for, by ID; a
// meeting that has just ended is not listed though the hub has not
// forgotten it yet.
func (h *Hub) LiveMeetings() []LiveMeeting {
	rooms := h.liveRooms()
	out := make([]LiveMeeting, 0, len(rooms))
	for _, r := range rooms {
		r.mu.Lock()
		if r.closed { // ended, not yet forgotten: its core still counts who was in it
			r.mu.Unlock()
			continue
		}
		waiting := len(r.core.Waiting())
		lm := LiveMeeting{ID: r.id, Participants: r.core.Len() - waiting, Waiting: waiting, Locked: r.core.Settings().Locked}
		if r.breakouts != nil {
			lm.BreakoutRooms = len(r.breakouts.rooms)
			for _, b := range r.breakouts.rooms {
				b.mu.Lock()
				lm.Participants += len(b.core.Participants())
				b.mu.Unlock()
			}
		}
		r.mu.Unlock()
		out = append(out, lm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// EndMeeting ends a live meeting for everyone in it, its waiting room and
// its breakout rooms, telling them message (an administrator's action,
// with their reason); it reports whether the meeting was live.
func (h *Hub) EndMeeting(id meeting.ID, message string) bool {
	return h.withLiveRoom(id, func(r *Room) {
		r.endLocked("", message) // the waiting room's sockets are members too
		r.log.Info("meeting ended by an administrator")
	})
}

// withLiveRoom runs f on the meeting's main room, under its lock, if the
// meeting is live; it reports whether it was.
func (h *Hub) withLiveRoom(id meeting.ID, f func(r *Room)) bool {
	h.mu.Lock()
	r := h.rooms[id]
	h.mu.Unlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	f(r)
	return true
}

// LockMeeting locks or unlocks a live meeting at an administrator's
// request. The lock changes as a host's would: nobody new may join (the
// owner always may) and everyone in the main room gets settings. Whether
// or not it changed (a host may have locked it already), everyone
// admitted, in the main room and in every breakout room, gets an
// admin_notice with the reason. It reports whether the meeting was live.
func (h *Hub) LockMeeting(id meeting.ID, locked bool, reason, message string) bool {
	return h.withLiveRoom(id, func(r *Room) {
		if r.core.SetLocked(locked) {
			r.broadcastLocked(wire.SettingsUpdate{Type: wire.TypeSettings, Settings: r.core.Settings()}, "")
		}
		action := wire.NoticeUnlocked
		if locked {
			action = wire.NoticeLocked
		}
		msg := wire.AdminNotice{Type: wire.TypeAdminNotice, Action: action, Reason: reason, Message: message}
		r.broadcastLocked(msg, "")
		if r.breakouts != nil {
			for _, b := range r.breakouts.rooms {
				b.mu.Lock()
				b.broadcastLocked(msg, "")
				b.mu.Unlock()
			}
		}
		r.log.Info("meeting " + action + " by an administrator")
	})
}
