package meeting

import "errors"

// Sentinel errors. Callers map them to protocol codes with errors.Is.
var (
	// ErrBadMeetingID means a string is not a well-formed meeting ID.
	ErrBadMeetingID = errors.New("malformed meeting ID")
	// ErrBadName means a display name is empty, too long or has characters
	// that are not allowed.
	ErrBadName = errors.New("invalid display name")
	// ErrMeetingFull means the meeting has reached its participant limit.
	ErrMeetingFull = errors.New("meeting is full")
	// ErrWaitingRoomFull means the waiting room has reached its limit.
	ErrWaitingRoomFull = errors.New("waiting room is full")
	// ErrTooManyWaiting means too many people from the same address (or
	// account) are waiting already.
	ErrTooManyWaiting = errors.New("too many waiting from one address")
	// ErrNoSuchParticipant means the participant is not in the meeting.
	ErrNoSuchParticipant = errors.New("no such participant")
	// ErrLocked means the meeting is locked: nobody new may join.
	ErrLocked = errors.New("meeting is locked")
	// ErrBanned means a host removed this person and barred them.
	ErrBanned = errors.New("removed from this meeting")
	// ErrSignInRequired means the meeting admits only signed-in people.
	ErrSignInRequired = errors.New("sign-in required")
	// ErrWrongPasscode means the passcode is missing or wrong.
	ErrWrongPasscode = errors.New("wrong passcode")
	// ErrForbidden means the participant's role or the meeting's settings
	// do not allow the action.
	ErrForbidden = errors.New("not allowed")
	// ErrNotWaiting means the participant is not in the waiting room.
	ErrNotWaiting = errors.New("not in the waiting room")
	// ErrBadSettings means meeting settings are invalid.
	ErrBadSettings = errors.New("invalid meeting settings")
	// ErrBadRole means a role change is not one that can be made.
	ErrBadRole = errors.New("invalid role change")
)
