package signal

import (
	"errors"
	"time"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// The refusal messages, one sentence each, never revealing more than the
// link itself proves.
const (
	msgNotFound       = "There is no meeting with this link. Check the link, or ask the host for a new one."
	msgRateLimited    = "Too many attempts from your network. Wait a minute and try again."
	msgWrongPasscode  = "That passcode is not right. Check it and try again."
	msgLocked         = "The host has locked this meeting: nobody new can join."
	msgBanned         = "A host removed you from this meeting. You cannot rejoin it."
	msgSignInRequired = "This meeting is for signed-in people only. Sign in, then join again."
	msgFull           = "This meeting is full."
	msgWaitingFull    = "The waiting room of this meeting is full. Try again in a few minutes."
	msgTooManyWaiting = "Too many people from your network are waiting to join this meeting. Try again once they are in."
	msgBadName        = "Choose a display name of 1 to 64 characters, without control characters."
	msgDraining       = "This server is about to restart. Your browser will try again in a moment."
	msgBadKeyPackage  = "This client's end-to-end encryption key (its MLS KeyPackage) is not valid. Reload the page to get the current Kaigi client."
)

// joiner is the socket asking a room to let it in with hello m.
func (s *session) joiner(m *wire.ClientMessage) *live.Joiner {
	return &live.Joiner{
		Conn:     s,
		Hello:    m,
		Identity: s.identity,
		EndedSince: func() bool {
			if !s.srv.endedSince(s) {
				return false
			}
			s.identity.UserID = "" // it joins, and stays, a guest
			return true
		},
		Placed: func(r *live.Room, pid meeting.ParticipantID) {
			s.room, s.pid = r, pid
			s.joined.Store(true)
		},
	}
}

// hello admits the socket into a meeting, puts it in the waiting room, or
// refuses it. It returns false when the session is over. Attempts are
// rate-limited per address, and failures (unknown meetings, wrong
// passcodes) much more strictly, so scripts guessing meeting IDs or
// passcodes are slowed to a crawl while people in meetings notice nothing.
func (s *session) hello(m *wire.ClientMessage) bool {
	ip := policy.AddressKey(s.identity.Addr)
	// A member relayed from another node passed these limits there.
	if s.remote == nil && (!s.srv.hellos.Allow(ip) || !s.srv.failures.Peek(ip)) {
		s.refuse(wire.CodeRateLimited, msgRateLimited)
		return false
	}
	if m.V != wire.Version {
		s.refuse(wire.CodeUnsupportedVersion, "This server speaks a different protocol version. Reload the page to get the current client.")
		return false
	}
	if len(m.KeyPackage) > 0 {
		// Checked here, before any room sees it, so that a bad one is
		// refused with its reason instead of failing in a member's browser.
		if _, err := e2ee.CheckKeyPackage(m.KeyPackage, time.Now()); err != nil {
			s.log.Info("join refused", "code", wire.CodeBadKeyPackage, "err", err)
			s.refuse(wire.CodeBadKeyPackage, msgBadKeyPackage)
			return false
		}
	}
	id, err := meeting.ParseID(m.Meeting)
	if err != nil {
		s.srv.failures.Allow(ip)
		s.refuse(wire.CodeMeetingNotFound, msgNotFound)
		return false
	}
	if handled, ok := s.place(id, m); handled {
		return ok
	}
	for {
		room, st, err := s.srv.hub.Open(s.ctx, id)
		switch {
		case errors.Is(err, live.ErrNoSuchMeeting):
			s.srv.failures.Allow(ip)
			s.refuse(wire.CodeMeetingNotFound, msgNotFound)
			return false
		case err != nil:
			s.log.Error("open meeting", "meeting", id, "err", err)
			s.refuse(wire.CodeInternal, "The server could not open this meeting. Try again in a moment.")
			return false
		}
		s.checkCountry(st)
		s.checkRegion(st)
		target := room
		if m.Breakout > 0 {
			if target = room.BreakoutRoom(m.Breakout); target == nil {
				s.refuse(wire.CodeBreakoutClosed, "That breakout room has closed. Rejoin the meeting.")
				return false
			}
		}
		err = target.Join(s.joiner(m), st)
		if errors.Is(err, live.ErrRoomClosed) {
			continue // it emptied as we arrived; start a fresh one
		}
		if err == nil {
			s.joined.Store(true)
			return true
		}
		code, msg := wire.CodeInternal, "The server could not add you to the meeting. Try again in a moment."
		failure := true
		var rule *live.Refusal
		switch {
		case errors.As(err, &rule):
			code, msg, failure = rule.Code, rule.Message, false
			if rule.Code == wire.CodeCountryNotAllowed {
				s.srv.countryRefusals.Add(1)
			}
		case errors.Is(err, live.ErrNoSuchMeeting):
			code, msg = wire.CodeMeetingNotFound, msgNotFound
		case errors.Is(err, meeting.ErrWrongPasscode):
			code, msg = wire.CodeWrongPasscode, msgWrongPasscode
		case errors.Is(err, meeting.ErrBanned):
			code, msg = wire.CodeBanned, msgBanned
		case errors.Is(err, meeting.ErrSignInRequired):
			code, msg = wire.CodeSignInRequired, msgSignInRequired
		case errors.Is(err, meeting.ErrLocked):
			code, msg, failure = wire.CodeMeetingLocked, msgLocked, false
		case errors.Is(err, meeting.ErrBadName):
			code, msg, failure = wire.CodeBadName, msgBadName, false
		case errors.Is(err, meeting.ErrMeetingFull):
			code, msg, failure = wire.CodeMeetingFull, msgFull, false
		case errors.Is(err, meeting.ErrWaitingRoomFull):
			code, msg, failure = wire.CodeWaitingRoomFull, msgWaitingFull, false
		case errors.Is(err, meeting.ErrTooManyWaiting):
			code, msg, failure = wire.CodeWaitingRoomFull, msgTooManyWaiting, false
		case errors.Is(err, live.ErrDraining), errors.Is(err, live.ErrShuttingDown):
			code, msg, failure = wire.CodeServerDraining, msgDraining, false
		case errors.Is(err, live.ErrBadInvite):
			code, msg = wire.CodeBadToken, "That move between rooms has expired. Rejoin the meeting."
		case errors.Is(err, live.ErrE2EERequired):
			code, msg, failure = wire.CodeE2EERequired, "This meeting is end-to-end encrypted, and this client did not offer a key. Use a current Kaigi client.", false
		default:
			failure = false
			s.log.Error("join", "meeting", id, "err", err)
		}
		if failure {
			s.srv.failures.Allow(ip)
		}
		s.log.Info("join refused", "meeting", id, "code", code)
		s.refuse(code, msg)
		return false
	}
}
