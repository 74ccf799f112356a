package signal

import (
	"sort"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// LiveMeeting is a live meeting as an administrator sees it: how many are
// in it, never who or what they say.
type LiveMeeting struct {
	ID            meeting.ID
	Participants  int // admitted, including those reconnecting
	Waiting       int // in the waiting room
	BreakoutRooms int // open breakout rooms
}

// LiveMeetings lists the meetings someone is in or waiting for, by ID.
func (s *Server) LiveMeetings() []LiveMeeting {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	out := make([]LiveMeeting, 0, len(rooms))
	for _, r := range rooms {
		r.mu.Lock()
		waiting := len(r.core.Waiting())
		lm := LiveMeeting{ID: r.id, Participants: r.core.Len() - waiting, Waiting: waiting}
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
func (s *Server) EndMeeting(id meeting.ID, message string) bool {
	s.mu.Lock()
	r := s.rooms[id]
	s.mu.Unlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.endLocked("", message) // the waiting room's sockets are members too
	r.log.Info("meeting ended by an administrator")
	return true
}
