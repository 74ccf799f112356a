package live

import "github.com/kaigi-meet/kaigi/internal/meeting"

// What a server that has turned against its users can do beyond what it
// already does, for tests that play it (docs/security.md, "Attacks"). The
// server is the adversary of end-to-end encryption: nothing here gives
// its operator anything the operator of a modified server would not have.

// E2EEEpoch returns the epoch of a live meeting's encrypted group, as the
// delivery service tracks it (the epoch every MLS envelope shows).
func (h *Hub) E2EEEpoch(id meeting.ID) (epoch uint64, ok bool) {
	h.mu.Lock()
	r := h.rooms[id]
	h.mu.Unlock()
	if r == nil {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.group.Epoch(), true
}

// SendAsServer writes msg to a participant's connection as if the room had
// sent it: an injected, forged or replayed server message. It reports
// whether the participant was connected.
func (h *Hub) SendAsServer(id meeting.ID, participant meeting.ParticipantID, msg any) bool {
	h.mu.Lock()
	r := h.rooms[id]
	h.mu.Unlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[participant]
	if m == nil || m.conn == nil {
		return false
	}
	m.conn.Send(msg)
	return true
}
