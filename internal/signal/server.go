package signal

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// MeetingDirectory is the stored side of meetings: the signalling server
// opens only meetings that were created, with their settings and bans, and
// saves what hosts change.
type MeetingDirectory interface {
	// LookupMeeting returns a meeting's record and bans; ok is false if
	// there is no such meeting.
	LookupMeeting(ctx context.Context, id meeting.ID) (rec meeting.Record, bans []meeting.Ban, ok bool, err error)
	AddBans(ctx context.Context, id meeting.ID, bans []meeting.Ban) error
	SaveSettings(ctx context.Context, id meeting.ID, s meeting.Settings) error
}

// Limits are the signalling server's rate limits.
type Limits struct {
	HelloPerIP    policy.Rate // every join attempt, per address (IPv6: per /64)
	FailuresPerIP policy.Rate // unknown meetings, wrong passcodes, bans, per address
	// PasscodePerMeeting is how many wrong passcodes from anywhere a
	// meeting sees before its hosts are told that someone is guessing. It
	// never refuses anyone.
	PasscodePerMeeting policy.Rate
}

// DefaultLimits leave room for a whole office behind one address joining
// at once, and none for guessing from it.
var DefaultLimits = Limits{
	HelloPerIP:         policy.Rate{Every: 500 * time.Millisecond, Burst: 60},
	FailuresPerIP:      policy.Rate{Every: 6 * time.Second, Burst: 10},
	PasscodePerMeeting: policy.Rate{Every: 3 * time.Second, Burst: 20},
}

// Options configure a Server.
type Options struct {
	Meetings MeetingDirectory
	SFU      *sfu.SFU
	// Identify returns the signed-in account behind a request (from its
	// session cookie), or "" for a guest.
	Identify func(r *http.Request) string
	// Limits are the rate limits; zero means DefaultLimits.
	Limits Limits
	Logger *slog.Logger
	// ServerVersion is sent in welcome, e.g. "kaigi/0.1.0".
	ServerVersion string
	// ICEServers are handed to clients in welcome.
	ICEServers []ICEServer
	// ICEServersFor, if set, adds servers for one participant's welcome
	// (the embedded TURN server, with credentials of that participant's
	// own). host is the address the participant's socket reached on this
	// server (an IP, no port), so the servers can be named as the browser
	// reaches them.
	ICEServersFor func(participant, host string) []ICEServer
	// OriginPatterns are extra allowed Origin hosts (e.g. the public URL's
	// host behind a proxy); the request's own host is always allowed.
	OriginPatterns []string
	// MaxParticipants per meeting; zero means meeting.DefaultMaxParticipants.
	MaxParticipants int
	// MaxWaiting and MaxWaitingPerAddress limit each meeting's waiting
	// room; zero means meeting.DefaultMaxWaiting and
	// meeting.DefaultMaxWaitingPerAddress.
	MaxWaiting, MaxWaitingPerAddress int
	// ResumeGrace is how long a lost participant's place is kept; zero
	// means 30 seconds.
	ResumeGrace time.Duration
	// Kept, if set, keeps who is in each live meeting across server runs,
	// so that they resume after a restart or a crash (kept.go).
	Kept KeptStore
	// Countries, if set, checks country rules at every new join
	// (country.go); nil without a GeoIP database.
	Countries CountryCheck
	// Regions, if set, refuses every join to a meeting this node may not
	// hold (regions.go).
	Regions RegionCheck
	// Usage, if set, is told who enters and leaves meetings, for the
	// usage figures (usage.go).
	Usage Usage
	// HelloTimeout is how long a new socket may take to send hello; zero
	// means 10 seconds.
	HelloTimeout time.Duration
	// RelayLog, if set, sees every relayed E2EE application message as the
	// server sees it (for tests that prove it is ciphertext).
	RelayLog func(meeting, from, kind string, data []byte)
	// E2EEClaim, if set, decides what welcome says about end-to-end
	// encryption, given the truth: it plays a server that lies to clients,
	// for tests of their downgrade defence. Only code sets it; no
	// configuration can.
	E2EEClaim func(meeting string, resumed, e2ee bool) bool
	// Tamper, if set, sees every message (JSON) before it goes to a
	// participant's socket and returns what goes instead (nil: nothing):
	// it plays a server that forges, relabels or drops what it sends, for
	// tests of the clients' defences. Only code sets it; no configuration
	// can.
	Tamper func(participant string, msg []byte) []byte
}

// Server accepts signalling WebSockets and runs the meetings they join.
type Server struct {
	opts Options
	log  *slog.Logger

	hellos, failures, passcodes *policy.Limiter
	countryRefusals             counter // country.go
	keeper                      *keeper // nil without Options.Kept

	// hosts are the local addresses sessions' requests reached
	// (*session to string), for ICEServersFor.
	hosts sync.Map

	mu       sync.Mutex
	rooms    map[meeting.ID]*Room
	sessions map[*session]struct{}
	closing  bool
	// draining and drainUntil: Drain was called (drain.go); socketGone
	// wakes it when a socket ends.
	draining   bool
	drainUntil time.Time
	socketGone chan struct{}
	running    sync.WaitGroup // one per tracked session
	// epoch counts EndAccount calls; ended is, per account whose
	// participation was ended, the epoch of its last end. A socket
	// remembers the epoch it was tracked at, before its account was
	// identified: one whose account was ended since joins as a guest
	// (endedSince), because the identity it was given is no longer true.
	epoch uint64
	ended map[string]uint64
}

// NewServer returns a Server; mount it at /ws.
func NewServer(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ResumeGrace == 0 {
		opts.ResumeGrace = 30 * time.Second
	}
	if opts.HelloTimeout == 0 {
		opts.HelloTimeout = 10 * time.Second
	}
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	s := &Server{
		opts:       opts,
		log:        opts.Logger,
		hellos:     policy.NewLimiter(opts.Limits.HelloPerIP, nil),
		failures:   policy.NewLimiter(opts.Limits.FailuresPerIP, nil),
		passcodes:  policy.NewLimiter(opts.Limits.PasscodePerMeeting, nil),
		rooms:      make(map[meeting.ID]*Room),
		sessions:   make(map[*session]struct{}),
		socketGone: make(chan struct{}, 1),
	}
	if opts.Kept != nil {
		s.keeper = newKeeper(s, opts.Kept)
	}
	return s
}

// ServeHTTP upgrades the request to a signalling WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.opts.OriginPatterns})
	if err != nil {
		s.log.Debug("websocket handshake refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	conn.SetReadLimit(maxFrameBytes)
	sess := newSession(s, conn, r.RemoteAddr, meeting.Identity{Addr: remoteAddr(r)})
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(local.String()); err == nil {
			s.hosts.Store(sess, ap.Addr().Unmap().WithZone("").String())
		}
	}
	defer s.hosts.Delete(sess)
	// Tracked (which takes the epoch) before the account is identified:
	// an EndAccount between the two counts as after it.
	if !s.track(sess) {
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer s.untrack(sess)
	if s.opts.Identify != nil {
		sess.identity.UserID = s.opts.Identify(r)
	}
	sess.run()
}

func (s *Server) track(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions[sess] = struct{}{}
	sess.epoch = s.epoch
	s.running.Add(1)
	return true
}

func (s *Server) untrack(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	select {
	case s.socketGone <- struct{}{}:
	default:
	}
	s.running.Done()
}

var errNoSuchMeeting = errors.New("no such meeting")

// stored is a meeting as the store has it now.
type stored struct {
	rec  meeting.Record
	bans []meeting.Ban
	// country is the country rules' verdict on the joiner reading it:
	// nil admits (country.go).
	country error
	// region is the region check's verdict (regions.go): nil admits.
	region error
}

// room reads the meeting from the store (on every join: a passcode the
// owner replaced, or a meeting they deleted, must take effect at once)
// and returns its live room, opening one if nobody is in it. A meeting no
// longer stored has no record (nil) and only its live room, if any, for
// those coming back to it.
func (s *Server) room(ctx context.Context, id meeting.ID) (*Room, *stored, error) {
	rec, bans, ok, err := s.opts.Meetings.LookupMeeting(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	// Opening a room: whom an earlier run of the server had in it come
	// back (a second reader racing this one finds the room made).
	var kept []meeting.Kept
	s.mu.Lock()
	opening := ok && s.rooms[id] == nil
	s.mu.Unlock()
	if opening && s.opts.Kept != nil {
		if kept, err = s.opts.Kept.KeptBefore(ctx, id); err != nil {
			return nil, nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[id]
	switch {
	case s.closing:
		return nil, nil, errShuttingDown
	case s.draining && r == nil:
		return nil, nil, errDraining // no meeting starts now
	case !ok && r == nil:
		return nil, nil, errNoSuchMeeting
	case !ok:
		return r, nil, nil
	case r == nil:
		r = newRoom(s, rec, bans)
		s.rooms[id] = r
		s.log.Info("meeting started", "meeting", id)
		r.mu.Lock()
		r.restoreLocked(kept)
		r.mu.Unlock()
	}
	return r, &stored{rec: rec, bans: bans}, nil
}

// Router returns the SFU router of a live meeting, or nil (for tests that
// play a tampered server).
func (s *Server) Router(id meeting.ID) *sfu.Router {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[id]; r != nil {
		return r.router
	}
	return nil
}

// iceServers are the ICE servers for a participant's welcome on conn: the
// configured ones and those of ICEServersFor (for the address a local
// socket reached).
func (s *Server) iceServers(conn Conn, participant string) []ICEServer {
	if s.opts.ICEServersFor == nil {
		return s.opts.ICEServers
	}
	var host any
	if sess, ok := conn.(*session); ok {
		host, _ = s.hosts.Load(sess)
	}
	h, _ := host.(string)
	out := append([]ICEServer(nil), s.opts.ICEServers...)
	return append(out, s.opts.ICEServersFor(participant, h)...)
}

// remoteAddr is the request's client address: its peer, or behind
// trusted reverse proxies the client they name (internal/clientaddr puts
// it in RemoteAddr).
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// forget drops a room that has emptied.
func (s *Server) forget(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.id] == r {
		delete(s.rooms, r.id)
		s.log.Info("meeting ended", "meeting", r.id)
	}
}

// EndAccount ends, in every live meeting, the participation of an account
// whose sessions were all ended (signed out everywhere, suspended,
// deleted): its sockets close (`closed` with reason and message), in the
// main rooms, their waiting rooms and their breakout rooms, and its
// places, resume tokens and moves' tokens go. A socket identified as the
// account before this call joins, if it says hello later, as a guest.
// Call it after the account's sessions were ended, so that no socket
// opened from now on is identified as the account. A deleted account's
// own meetings end for everyone (owner.go).
func (s *Server) EndAccount(userID, reason, message string) {
	if userID == "" {
		return
	}
	s.mu.Lock()
	s.epoch++
	if s.ended == nil {
		s.ended = make(map[string]uint64)
	}
	s.ended[userID] = s.epoch
	s.pruneEndedLocked()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.endAccount(userID, reason, message)
	}
	if reason == wire.ClosedAccountDeleted {
		s.endOwnedBy(rooms, userID)
	}
}

// pruneEndedLocked forgets the ends that no socket still to join was
// tracked before: those that have joined were dealt with by endAccount,
// and later ones are identified afresh.
func (s *Server) pruneEndedLocked() {
	oldest := s.epoch
	for sess := range s.sessions {
		if !sess.joined.Load() && sess.epoch < oldest {
			oldest = sess.epoch
		}
	}
	for id, e := range s.ended {
		if e <= oldest {
			delete(s.ended, id)
		}
	}
}

// endedSince reports whether the account sess was identified as had its
// participation ended (EndAccount) since sess was tracked. Called by the
// session's reader, under the lock of the room it joins.
func (s *Server) endedSince(sess *session) bool {
	if sess.identity.UserID == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended[sess.identity.UserID] > sess.epoch
}

var errShuttingDown = errors.New("server shutting down")

// Stats is a snapshot for metrics.
type Stats struct {
	Meetings     int // meetings with someone in them
	Participants int // participants, including those reconnecting
	Connections  int // open signalling sockets
}

// Stats returns current counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	st := Stats{Meetings: len(rooms), Connections: len(s.sessions)}
	s.mu.Unlock()
	for _, r := range rooms {
		st.Participants += r.size()
	}
	return st
}

// Shutdown tells every client the server is stopping, closes their sockets
// and ends every meeting. It returns when all sessions have ended or ctx is
// done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()

	for _, sess := range sessions {
		sess.Close(closedBecause(wire.ClosedShutdown, "The server is restarting. Please rejoin in a moment."))
	}
	for _, r := range rooms {
		r.close()
	}
	defer s.keeper.close(ctx) // who was in each meeting stays kept for the next run
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
