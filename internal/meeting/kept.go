package meeting

import "fmt"

// Kept is what the server keeps on disk of someone admitted to a live
// meeting, so that a server that restarted (or crashed) lets them back in
// with the resume token they hold, without a second pass through the
// waiting room.
type Kept struct {
	Participant Participant
	// ResumeHash is the SHA-256 of their current resume token (the token
	// itself is never stored).
	ResumeHash [32]byte
	// AdmittedBy is the host who let them in, if one did.
	AdmittedBy ParticipantID
}

// Restore puts back someone who was admitted before the server restarted:
// same ID, name, role and identity, shown as reconnecting until they come
// back. Bans made since keep them out (ErrBanned), and only the owner can
// come back as the host.
func (m *Meeting) Restore(p Participant) (Participant, error) {
	switch {
	case p.ID == "" || m.find(p.ID) != nil || m.waitingIndex(p.ID) >= 0:
		return Participant{}, fmt.Errorf("restore %q: %w", p.ID, ErrNoSuchParticipant)
	case !m.IsOwner(p.Identity) && m.banned(p.Identity):
		return Participant{}, fmt.Errorf("restore %s: %w", p.ID, ErrBanned)
	case p.Role == RoleHost && !m.IsOwner(p.Identity):
		p.Role = RoleParticipant
	case p.Role != RoleHost && p.Role != RoleCoHost:
		p.Role = RoleParticipant
	}
	if _, err := NormaliseName(p.Name); err != nil {
		return Participant{}, fmt.Errorf("restore %s: %w", p.ID, err)
	}
	p.Waiting, p.Connected, p.BannedNetwork = "", false, false
	p.Media.Screen = false
	m.participants = append(m.participants, &p)
	return p, nil
}
