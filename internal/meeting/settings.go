package meeting

import (
	"fmt"
	"time"
)

// Who says which participants may do something.
type Who string

// The choices for a permission.
const (
	WhoHosts    Who = "hosts"    // the host and co-hosts
	WhoEveryone Who = "everyone" // every admitted participant
)

// Valid reports whether w is a known choice.
func (w Who) Valid() bool { return w == WhoHosts || w == WhoEveryone }

// Settings are a meeting's rules. Organisations set defaults; hosts change
// them per meeting, before or during it.
type Settings struct {
	// E2EE: media and messages are end-to-end encrypted (MLS + SFrame);
	// fixed once a meeting runs.
	E2EE bool `json:"e2ee"`
	// Passcode: joiners must give the meeting's passcode.
	Passcode bool `json:"passcode"`
	// WaitingRoom: joiners wait until a host admits them.
	WaitingRoom bool `json:"waitingRoom"`
	// RequireSignIn: only people signed in to an account may join.
	RequireSignIn bool `json:"requireSignIn"`
	// JoinBeforeHost: people may be admitted before a host is there.
	JoinBeforeHost bool `json:"joinBeforeHost"`
	// ScreenShare, Unmute, Chat and Rename say who may share their screen,
	// unmute themselves after a host muted them, chat, and rename themselves.
	ScreenShare Who `json:"screenShare"`
	Unmute      Who `json:"unmute"`
	Chat        Who `json:"chat"`
	Rename      Who `json:"rename"`
	// Locked: nobody new may join, passcode or not.
	Locked bool `json:"locked"`
	// Country, if on, refuses joiners by the country of their address, on
	// top of the organisation's rule (which it can narrow, never widen).
	// A pointer so that Settings stays comparable; nil is off.
	Country *CountryRule `json:"country,omitempty"`
	// Regions, if named, are the only regions the meeting may be held in,
	// on top of the organisation's (which they can narrow, never widen);
	// see regions.go. A pointer for the same reason as Country; nil names
	// none.
	Regions *Regions `json:"regions,omitempty"`
	// Ingest: media sources outside end-to-end encryption (WHIP,
	// internal/whip) may publish into an end-to-end encrypted meeting,
	// marked as not end-to-end encrypted for everyone. A meeting without
	// end-to-end encryption takes them whenever a host made a token.
	Ingest bool `json:"ingest,omitempty"`
}

// IngestAllowed reports whether a WHIP source may publish into the
// meeting: always without end-to-end encryption, with it only if the
// host allowed it.
func (s Settings) IngestAllowed() bool { return !s.E2EE || s.Ingest }

// DefaultSettings are the product's defaults, safe against meeting
// bombing: passcode and waiting room on, only hosts share their screen.
func DefaultSettings() Settings {
	return Settings{
		E2EE:        true,
		Passcode:    true,
		WaitingRoom: true,
		ScreenShare: WhoHosts,
		Unmute:      WhoEveryone,
		Chat:        WhoEveryone,
		Rename:      WhoEveryone,
	}
}

// Validate checks every field, naming the first bad one.
func (s Settings) Validate() error {
	for name, w := range map[string]Who{"screenShare": s.ScreenShare, "unmute": s.Unmute, "chat": s.Chat, "rename": s.Rename} {
		if !w.Valid() {
			return fmt.Errorf("%w: %s must be %q or %q", ErrBadSettings, name, WhoHosts, WhoEveryone)
		}
	}
	if err := s.Regions.Validate(); err != nil {
		return err
	}
	return s.Country.Validate()
}

// Kind is what sort of meeting a record is.
type Kind string

// The kinds of meeting.
const (
	KindInstant   Kind = "instant"   // started at once
	KindScheduled Kind = "scheduled" // has a start time
	KindPersonal  Kind = "personal"  // a user's own, always-there room
)

// Record is a meeting as stored: what exists before anyone joins.
type Record struct {
	ID        ID
	Kind      Kind
	Title     string
	OwnerID   string // the account of the meeting's host
	StartsAt  time.Time
	Duration  time.Duration
	Settings  Settings
	Passcode  string // empty when Settings.Passcode is off
	CreatedAt time.Time
}

// BanKind is what a ban matches.
type BanKind string

// The things a ban can match.
const (
	BanUser    BanKind = "user"    // a signed-in account
	BanDevice  BanKind = "device"  // a browser (the client's device ID)
	BanAddress BanKind = "address" // a network: an IPv4 address or an IPv6 /64
)

// Ban keeps someone a host removed from coming back.
type Ban struct {
	Kind  BanKind
	Value string
}
