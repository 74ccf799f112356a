package meeting

import (
	"net/netip"
	"time"
)

// Role is what a participant may do in a meeting.
type Role string

// The roles. The host owns the meeting; co-hosts help moderate; everyone
// else participates.
const (
	RoleHost        Role = "host"
	RoleCoHost      Role = "cohost"
	RoleParticipant Role = "participant"
)

// moderates reports whether the role may moderate (host or co-host).
func (r Role) moderates() bool { return r == RoleHost || r == RoleCoHost }

// MediaState is what a participant says it is sending, for others' rosters.
type MediaState struct {
	Audio  bool // microphone on
	Video  bool // camera on
	Screen bool // sharing the screen
}

// Identity is who is asking to join, as far as the server can tell.
type Identity struct {
	// UserID is the signed-in account, or "" for a guest.
	UserID string
	// Device is the browser's own random ID, or "".
	Device string
	// Addr is the network address the request came from.
	Addr netip.Addr
}

// WaitReason says why a joiner waits.
type WaitReason string

// The reasons to wait.
const (
	WaitForHost WaitReason = "host_absent"  // no host yet, and join-before-host is off
	WaitForRoom WaitReason = "waiting_room" // a host must admit them
)

// Participant is one person in a meeting (or in its waiting room).
type Participant struct {
	ID       ParticipantID
	Name     string
	Role     Role
	Identity Identity
	// JoinedAt is when they were admitted (for those waiting: when they
	// arrived).
	JoinedAt time.Time
	Media    MediaState
	// Connected is false while the participant's connection is lost and the
	// meeting keeps their place for them to come back.
	Connected bool
	// Waiting is set while they are in the waiting room, with the reason.
	Waiting WaitReason
	// MutedByHost is set when a host muted them; they may unmute only if
	// the meeting allows it. VideoStoppedByHost and ScreenStoppedByHost
	// are set when a host stopped their camera or screen share, until they
	// start it again themselves.
	MutedByHost, VideoStoppedByHost, ScreenStoppedByHost bool
	// BannedNetwork is set for a joiner from a network a host banned
	// someone from: they wait for a host even without a waiting room,
	// and the host sees why.
	BannedNetwork bool
	// Ingest is set for a media source that publishes over WHIP (a
	// streaming program, not a person in the signalling): it is outside
	// end-to-end encryption.
	Ingest bool
	// Viewer is set, with Ingest, for a program that watches over WHEP
	// (it receives, publishes nothing, and holds no key either).
	Viewer bool
}

// SignedIn reports whether the participant joined with an account.
func (p Participant) SignedIn() bool { return p.Identity.UserID != "" }
