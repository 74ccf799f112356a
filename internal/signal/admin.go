package signal

import (
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// LiveMeeting is a live meeting as an administrator sees it: how many are
// in it, never who or what they say.
type LiveMeeting = live.LiveMeeting

// LiveMeetings lists the meetings someone is in or waiting for, by ID.
func (s *Server) LiveMeetings() []LiveMeeting { return s.hub.LiveMeetings() }

// EndMeeting ends a live meeting for everyone in it, its waiting room and
// its breakout rooms, telling them message (an administrator's action,
// with their reason); it reports whether the meeting was live.
func (s *Server) EndMeeting(id meeting.ID, message string) bool {
	return s.hub.EndMeeting(id, message)
}

// LockMeeting locks or unlocks a live meeting at an administrator's
// request (live.Hub.LockMeeting); it reports whether the meeting was live.
func (s *Server) LockMeeting(id meeting.ID, locked bool, reason, message string) bool {
	return s.hub.LockMeeting(id, locked, reason, message)
}
