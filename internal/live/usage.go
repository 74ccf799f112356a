package live

import "github.com/kaigi-meet/kaigi/internal/meeting"

// Usage is told when participants enter and leave the rooms of a meeting
// and when rooms close, for the usage figures (internal/usage implements
// it). room is 0 for a meeting's main room and n for breakout room n; a
// participant keeps their ID across rooms and resumes. The calls are made
// under a room's lock: they must return at once, never waiting on a
// database.
type Usage interface {
	// Continued: the meeting was in progress when the server stopped,
	// and these participants were kept to resume it; their return is
	// neither a new meeting nor a new admission.
	Continued(id meeting.ID, pids []meeting.ParticipantID)
	Admitted(id meeting.ID, room int, pid meeting.ParticipantID)
	Gone(id meeting.ID, room int, pid meeting.ParticipantID)
	Closed(id meeting.ID, room int)
}

// usageAdmittedLocked: pid is in the meeting in this room (on every
// welcome; a resume is not counted again).
func (r *Room) usageAdmittedLocked(pid meeting.ParticipantID) {
	if u := r.hub.opts.Usage; u != nil {
		u.Admitted(r.id, r.number, pid)
	}
}

// usageGoneLocked: pid, admitted or not, is no longer in this room.
func (r *Room) usageGoneLocked(pid meeting.ParticipantID) {
	if u := r.hub.opts.Usage; u != nil {
		u.Gone(r.id, r.number, pid)
	}
}

// usageClosedLocked: this room closed with whoever was still in it.
func (r *Room) usageClosedLocked() {
	if u := r.hub.opts.Usage; u != nil {
		u.Closed(r.id, r.number)
	}
}

// usageContinuedLocked: the room was restored with these participants
// kept from the server's earlier run.
func (r *Room) usageContinuedLocked(pids []meeting.ParticipantID) {
	if u := r.hub.opts.Usage; u != nil && len(pids) > 0 {
		u.Continued(r.id, pids)
	}
}
