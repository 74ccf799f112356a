package meeting

import (
	"fmt"
	"time"
)

// DefaultMaxParticipants is the participant limit when Options leaves it zero.
const DefaultMaxParticipants = 100

// Options configure a Meeting. The zero value is usable.
type Options struct {
	// MaxParticipants is the most people in the meeting at once, counting
	// those whose place is kept while they reconnect.
	MaxParticipants int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Meeting is the live state of one meeting: who is in it and how.
// It is not safe for concurrent use (see the package comment).
type Meeting struct {
	id           ID
	max          int
	now          func() time.Time
	participants []*Participant // in join order
}

// JoinRequest is what a person asks for when joining. Passcode, account and
// E2EE key package belong here as the features that need them arrive.
type JoinRequest struct {
	Name  string
	Media MediaState
}

// New returns an empty meeting.
func New(id ID, opts Options) *Meeting {
	m := &Meeting{id: id, max: opts.MaxParticipants, now: opts.Now}
	if m.max <= 0 {
		m.max = DefaultMaxParticipants
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

// ID returns the meeting's ID.
func (m *Meeting) ID() ID { return m.id }

// Join admits a new participant and returns them.
func (m *Meeting) Join(req JoinRequest) (Participant, error) {
	name, err := NormaliseName(req.Name)
	if err != nil {
		return Participant{}, err
	}
	if len(m.participants) >= m.max {
		return Participant{}, ErrMeetingFull
	}
	p := &Participant{
		ID:        m.freshParticipantID(),
		Name:      name,
		Role:      RoleParticipant,
		JoinedAt:  m.now().UTC(),
		Media:     req.Media,
		Connected: true,
	}
	m.participants = append(m.participants, p)
	return *p, nil
}

// Leave removes a participant and returns them as they were.
func (m *Meeting) Leave(id ParticipantID) (Participant, error) {
	for i, p := range m.participants {
		if p.ID == id {
			m.participants = append(m.participants[:i], m.participants[i+1:]...)
			return *p, nil
		}
	}
	return Participant{}, fmt.Errorf("leave %s: %w", id, ErrNoSuchParticipant)
}

// SetConnected records that a participant's connection was lost (false) or
// is back (true). It reports whether anything changed.
func (m *Meeting) SetConnected(id ParticipantID, connected bool) (Participant, bool, error) {
	p := m.find(id)
	if p == nil {
		return Participant{}, false, fmt.Errorf("set connection of %s: %w", id, ErrNoSuchParticipant)
	}
	changed := p.Connected != connected
	p.Connected = connected
	return *p, changed, nil
}

// SetMedia records what a participant is sending. It reports whether
// anything changed.
func (m *Meeting) SetMedia(id ParticipantID, media MediaState) (Participant, bool, error) {
	p := m.find(id)
	if p == nil {
		return Participant{}, false, fmt.Errorf("set media of %s: %w", id, ErrNoSuchParticipant)
	}
	changed := p.Media != media
	p.Media = media
	return *p, changed, nil
}

// Participant returns one participant.
func (m *Meeting) Participant(id ParticipantID) (Participant, bool) {
	if p := m.find(id); p != nil {
		return *p, true
	}
	return Participant{}, false
}

// Participants returns everyone in the meeting in join order.
func (m *Meeting) Participants() []Participant {
	out := make([]Participant, len(m.participants))
	for i, p := range m.participants {
		out[i] = *p
	}
	return out
}

// Len returns the number of participants, connected or not.
func (m *Meeting) Len() int { return len(m.participants) }

func (m *Meeting) find(id ParticipantID) *Participant {
	for _, p := range m.participants {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (m *Meeting) freshParticipantID() ParticipantID {
	for {
		id := NewParticipantID()
		if m.find(id) == nil {
			return id
		}
	}
}
