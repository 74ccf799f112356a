package live

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// MeetingDirectory is the stored side of meetings: a hub opens only
// meetings that were created, with their settings and bans, and saves
// what hosts change.
type MeetingDirectory interface {
	// LookupMeeting returns a meeting's record and bans; ok is false if
	// there is no such meeting.
	LookupMeeting(ctx context.Context, id meeting.ID) (rec meeting.Record, bans []meeting.Ban, ok bool, err error)
	AddBans(ctx context.Context, id meeting.ID, bans []meeting.Ban) error
	SaveSettings(ctx context.Context, id meeting.ID, s meeting.Settings) error
}

// DefaultPasscodeGuessing is Options.PasscodeGuessing's default.
var DefaultPasscodeGuessing = policy.Rate{Every: 3 * time.Second, Burst: 20}

// Options configure a Hub.
type Options struct {
	Meetings MeetingDirectory
	SFU      *sfu.SFU
	Logger   *slog.Logger
	// ServerVersion is sent in welcome, e.g. "kaigi/0.1.0".
	ServerVersion string
	// ICEServers, if set, returns the ICE servers for a participant's
	// welcome on conn.
	ICEServers func(conn Conn, participant string) []wire.ICEServer
	// MaxParticipants per meeting; zero means meeting.DefaultMaxParticipants.
	MaxParticipants int
	// MaxWaiting and MaxWaitingPerAddress limit each meeting's waiting
	// room; zero means meeting.DefaultMaxWaiting and
	// meeting.DefaultMaxWaitingPerAddress.
	MaxWaiting, MaxWaitingPerAddress int
	// ResumeGrace is how long a lost participant's place is kept; zero
	// means 30 seconds.
	ResumeGrace time.Duration
	// PasscodeGuessing is how many wrong passcodes from anywhere a
	// meeting sees before its hosts are told that someone is guessing. It
	// never refuses anyone. Zero means DefaultPasscodeGuessing.
	PasscodeGuessing policy.Rate
	// Kept, if set, keeps who is in each live meeting across runs, so
	// that they resume after a restart or a crash (kept.go).
	Kept KeptStore
	// Usage, if set, is told who enters and leaves meetings (usage.go).
	Usage Usage
	// CountryRules says whether country rules can be checked here (a
	// GeoIP database is open); without, none can be set or changed.
	CountryRules bool
	// RelayLog, if set, sees every relayed E2EE application message as the
	// server sees it (for tests that prove it is ciphertext).
	RelayLog func(meeting, from, kind string, data []byte)
	// E2EEClaim, if set, decides what welcome says about end-to-end
	// encryption, given the truth: it plays a server that lies to
	// clients, for tests of their downgrade defence. Only code sets it.
	E2EEClaim func(meeting string, resumed, e2ee bool) bool
	// RecordOnServer, if set, starts a server recording of a meeting's
	// room for an account (internal/recorder; serverrec.go): its ID and
	// how to stop it (which waits until it is stored). ended is called if
	// it ends by itself. Without it the server records nothing.
	RecordOnServer func(ctx context.Context, meetingID, userID string, router *sfu.Router, ended func(reason string)) (id string, stop func(), err error)
	// Ended, if set, is told (on its own goroutine) that a meeting's room
	// on this node emptied and closed: a cluster node releases the
	// meeting's placement.
	Ended func(id meeting.ID)
	// RegionsChanged, if set, is told (on its own goroutine) that a host
	// changed a live meeting's regions here: a cluster node ends what
	// passes through nodes outside them (elsewhere.go).
	RegionsChanged func(id meeting.ID)
}

// Hub is a node's live meetings: a Room per meeting someone is in or
// waiting for, opened from the store at the first join and forgotten when
// it empties.
type Hub struct {
	opts      Options
	log       *slog.Logger
	passcodes *policy.Limiter
	keeper    *keeper // nil without Options.Kept

	mu      sync.Mutex
	rooms   map[meeting.ID]*Room
	closing bool
	// draining and drainUntil: Drain was called.
	draining   bool
	drainUntil time.Time
}

// NewHub returns a Hub with no live meetings.
func NewHub(opts Options) *Hub {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ResumeGrace == 0 {
		opts.ResumeGrace = 30 * time.Second
	}
	if opts.PasscodeGuessing == (policy.Rate{}) {
		opts.PasscodeGuessing = DefaultPasscodeGuessing
	}
	h := &Hub{
		opts:      opts,
		log:       opts.Logger,
		passcodes: policy.NewLimiter(opts.PasscodeGuessing, nil),
		rooms:     make(map[meeting.ID]*Room),
	}
	if opts.Kept != nil {
		h.keeper = newKeeper(h, opts.Kept)
	}
	return h
}

var (
	// ErrNoSuchMeeting: the meeting is not stored, and not live either.
	ErrNoSuchMeeting = errors.New("no such meeting")
	// ErrShuttingDown: the hub is closing (Close).
	ErrShuttingDown = errors.New("server shutting down")
	// ErrDraining: the node drains (Drain); only those already in a
	// meeting come back.
	ErrDraining = errors.New("server draining")
)

// Stored is a meeting as the store has it now, with the verdicts of the
// checks its joiner's transport ran before taking the room's lock.
type Stored struct {
	Record meeting.Record
	Bans   []meeting.Ban
	// Country is the country rules' verdict on the joiner: nil admits
	// (a *Refusal refuses, another error is an internal one).
	Country error
	// Region is the region check's verdict: nil admits.
	Region error
}

// Open reads the meeting from the store (on every join: a passcode the
// owner replaced, or a meeting they deleted, must take effect at once)
// and returns its live room, opening one if nobody is in it. A meeting no
// longer stored has no record (nil) and only its live room, if any, for
// those coming back to it.
func (h *Hub) Open(ctx context.Context, id meeting.ID) (*Room, *Stored, error) {
	rec, bans, ok, err := h.opts.Meetings.LookupMeeting(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	// Opening a room: whom an earlier run of the server had in it come
	// back (a second reader racing this one finds the room made).
	var kept []meeting.Kept
	h.mu.Lock()
	opening := ok && h.rooms[id] == nil
	h.mu.Unlock()
	if opening && h.opts.Kept != nil {
		if kept, err = h.opts.Kept.KeptBefore(ctx, id); err != nil {
			return nil, nil, err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[id]
	switch {
	case h.closing:
		return nil, nil, ErrShuttingDown
	case h.draining && r == nil:
		return nil, nil, ErrDraining // no meeting starts now
	case !ok && r == nil:
		return nil, nil, ErrNoSuchMeeting
	case !ok:
		return r, nil, nil
	case r == nil:
		r = newRoom(h, rec, bans)
		h.rooms[id] = r
		h.log.Info("meeting started", "meeting", id)
		r.mu.Lock()
		r.restoreLocked(kept)
		r.mu.Unlock()
	}
	return r, &Stored{Record: rec, Bans: bans}, nil
}

// Router returns the SFU router of a live meeting, or nil (for tests that
// play a tampered server).
func (h *Hub) Router(id meeting.ID) *sfu.Router {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.rooms[id]; r != nil {
		return r.router
	}
	return nil
}

// iceServers are the ICE servers for a participant's welcome on conn.
func (h *Hub) iceServers(conn Conn, participant string) []wire.ICEServer {
	if h.opts.ICEServers == nil {
		return nil
	}
	return h.opts.ICEServers(conn, participant)
}

// forget drops a room that has emptied.
func (h *Hub) forget(r *Room) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rooms[r.id] == r {
		delete(h.rooms, r.id)
		h.log.Info("meeting ended", "meeting", r.id)
		if h.opts.Ended != nil {
			go h.opts.Ended(r.id)
		}
	}
}

// liveRooms is a snapshot of the main rooms.
func (h *Hub) liveRooms() []*Room {
	h.mu.Lock()
	defer h.mu.Unlock()
	rooms := make([]*Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	return rooms
}

// EndAccount takes, in every live meeting, everyone on an account whose
// participation was ended (signed out everywhere, suspended, deleted) out
// of the main room, its waiting room and its breakout rooms, closing
// their connections with reason and message, and drops its places,
// resume tokens and moves' tokens. A deleted account's own meetings end
// for everyone (owner.go).
func (h *Hub) EndAccount(userID, reason, message string) {
	rooms := h.liveRooms()
	for _, r := range rooms {
		r.endAccount(userID, reason, message)
	}
	if reason == wire.ClosedAccountDeleted {
		h.endOwnedBy(rooms, userID)
	}
}

// Counts returns how many meetings are live and how many participants
// they have, including those reconnecting.
func (h *Hub) Counts() (meetings, participants int) {
	rooms := h.liveRooms()
	for _, r := range rooms {
		participants += r.size()
	}
	return len(rooms), participants
}

// Drain stops new meetings and new joins until the node stops: only
// those already in a meeting come back, and each is told (DrainingMessage)
// that the node stops at until.
func (h *Hub) Drain(until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.draining = true
	h.drainUntil = until
}

// DrainingMessage is what a participant is told while the node drains.
func (h *Hub) DrainingMessage() wire.Draining {
	h.mu.Lock()
	until := h.drainUntil
	h.mu.Unlock()
	left := time.Until(until)
	return wire.Draining{Type: wire.TypeDraining, Seconds: int(math.Ceil(max(left, 0).Seconds()))}
}

// isDraining reports whether the node drains.
func (h *Hub) isDraining() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.draining
}

// Close opens no meeting from now on and ends every live one (the node
// stops); who was in them stays kept for the next run (Flush).
func (h *Hub) Close() {
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	for _, r := range h.liveRooms() {
		r.close()
	}
}

// Flush writes what waits to be kept, then stops keeping; call it last.
func (h *Hub) Flush(ctx context.Context) {
	h.keeper.close(ctx)
}

// Live reports whether the meeting has a room on this node now.
func (h *Hub) Live(id meeting.ID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rooms[id] != nil
}

// Draining reports whether the node drains (Drain).
func (h *Hub) Draining() bool { return h.isDraining() }
