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
	// ErrNoSuchParticipant means the participant is not in the meeting.
	ErrNoSuchParticipant = errors.New("no such participant")
)
