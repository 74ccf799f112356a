package meeting

import "time"

// Role is what a participant may do in a meeting.
type Role string

// The roles. Hosts and co-hosts moderate; everyone else participates.
const (
	RoleHost        Role = "host"
	RoleCoHost      Role = "cohost"
	RoleParticipant Role = "participant"
)

// MediaState is what a participant says it is sending, for others' rosters.
type MediaState struct {
	Audio  bool // microphone on
	Video  bool // camera on
	Screen bool // sharing the screen
}

// Participant is one person in a meeting, as every roster shows them.
type Participant struct {
	ID       ParticipantID
	Name     string
	Role     Role
	JoinedAt time.Time
	Media    MediaState
	// Connected is false while the participant's connection is lost and the
	// meeting keeps their place for them to come back.
	Connected bool
}
