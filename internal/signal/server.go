package signal

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// MeetingDirectory is the stored side of meetings: the signalling server
// opens only meetings that were created, with their settings and bans, and
// saves what hosts change.
type MeetingDirectory = live.MeetingDirectory

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
	PasscodePerMeeting: live.DefaultPasscodeGuessing,
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
	// so that they resume after a restart or a crash (internal/live/kept.go).
	Kept KeptStore
	// Countries, if set, checks country rules at every new join
	// (country.go); nil without a GeoIP database.
	Countries CountryCheck
	// Regions, if set, refuses every join to a meeting this node may not
	// hold (regions.go).
	Regions RegionCheck
	// Usage, if set, is told who enters and leaves meetings, for the
	// usage figures (live.Usage).
	Usage Usage
	// HelloTimeout is how long a new socket may take to send hello; zero
	// means 10 seconds.
	HelloTimeout time.Duration
	// PingInterval is how long after a socket's last pong the server
	// pings it again, and PingTimeout how long it waits for the pong
	// before ending the session (the client resumes when it reconnects);
	// zero means 15 and 10 seconds (docs/protocol.md).
	PingInterval, PingTimeout time.Duration
	// RelayLog, if set, sees every relayed E2EE application message as the
	// server sees it (for tests that prove it is ciphertext).
	RelayLog func(meeting, from, kind string, data []byte)
	// E2EEClaim, if set, decides what welcome says about end-to-end
	// encryption, given the truth: it plays a server that lies to clients,
	// for tests of their downgrade defence. Only code sets it; no
	// configuration can.
	E2EEClaim func(meeting string, resumed, e2ee bool) bool
	// RecordOnServer, if set, records meetings without end-to-end
	// encryption on the server (live.Options.RecordOnServer).
	RecordOnServer func(ctx context.Context, meetingID, userID string, router *sfu.Router, ended func(reason string)) (id string, stop func(), err error)
	// Tamper, if set, sees every message (JSON) before it goes to a
	// participant's socket and returns what goes instead (nil: nothing):
	// it plays a server that forges, relabels or drops what it sends, for
	// tests of the clients' defences. Only code sets it; no configuration
	// can.
	Tamper func(participant string, msg []byte) []byte
	// EntryLease is how often a meeting's node tells an entry node that it
	// still holds each member relayed through it (entry.go); an entry node
	// that hears nothing about a member for three times as long ends
	// their socket and peer. Zero means 10 seconds.
	EntryLease time.Duration
	// LoseClose, if set, is asked on an entry node about each close the
	// meeting's node sends a relayed member's socket: true drops it, as a
	// lost NATS message would, for tests of what an entry node does
	// when it misses one. Only code sets it.
	LoseClose func() bool
	// LoseGone, if set, is asked on a meeting's node about each "the
	// socket ended" an entry node sends for a relayed member: true drops
	// it, as a lost NATS message would. Only code sets it.
	LoseGone func() bool
	// LoseRegionsChanged, if set, is asked about each
	// kaigi.regions.changed message this node receives: true drops it,
	// as a lost NATS message would. Only code sets it.
	LoseRegionsChanged func() bool
}

// Server accepts signalling WebSockets and runs the meetings they join
// (live.Hub: each socket is a live.Conn of a room).
type Server struct {
	opts Options
	log  *slog.Logger
	hub  *live.Hub

	hellos, failures *policy.Limiter
	countryRefusals  counter // country.go

	// hosts are the local addresses sessions' requests reached
	// (*session to string), for ICEServersFor.
	hosts sync.Map

	mu       sync.Mutex
	sessions map[*session]struct{}
	closing  bool
	// socketGone wakes Drain when a socket ends (drain.go).
	socketGone chan struct{}
	running    sync.WaitGroup // one per tracked session
	// epoch counts EndAccount calls; ended is, per account whose
	// participation was ended, the epoch of its last end. A socket
	// remembers the epoch it was tracked at, before its account was
	// identified: one whose account was ended since joins as a guest
	// (endedSince), because the identity it was given is no longer true.
	epoch uint64
	ended map[string]uint64
	// cluster is set by JoinCluster (relay.go).
	cluster *clusterLink
	// regionsCheck serves kaigi.regions.changed messages, at most one
	// check at a time and one waiting (entrycheck.go, coalesce.go).
	regionsCheck coalesced
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
	if opts.PingInterval == 0 {
		opts.PingInterval = 15 * time.Second
	}
	if opts.PingTimeout == 0 {
		opts.PingTimeout = 10 * time.Second
	}
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	s := &Server{
		opts:       opts,
		log:        opts.Logger,
		hellos:     policy.NewLimiter(opts.Limits.HelloPerIP, nil),
		failures:   policy.NewLimiter(opts.Limits.FailuresPerIP, nil),
		sessions:   make(map[*session]struct{}),
		socketGone: make(chan struct{}, 1),
	}
	s.hub = live.NewHub(live.Options{
		Meetings:             opts.Meetings,
		SFU:                  opts.SFU,
		Logger:               opts.Logger,
		ServerVersion:        opts.ServerVersion,
		ICEServers:           s.iceServers,
		MaxParticipants:      opts.MaxParticipants,
		MaxWaiting:           opts.MaxWaiting,
		MaxWaitingPerAddress: opts.MaxWaitingPerAddress,
		ResumeGrace:          opts.ResumeGrace,
		PasscodeGuessing:     opts.Limits.PasscodePerMeeting,
		Kept:                 opts.Kept,
		Usage:                opts.Usage,
		CountryRules:         opts.Countries != nil,
		RelayLog:             opts.RelayLog,
		E2EEClaim:            opts.E2EEClaim,
		RecordOnServer:       opts.RecordOnServer,
		Ended:                s.meetingEnded,
		RegionsChanged:       s.regionsChanged, // entrycheck.go
	})
	return s
}

// ServeHTTP upgrades the request to a signalling WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(ownBuffers{w}, r, &websocket.AcceptOptions{OriginPatterns: s.opts.OriginPatterns}) // upgrade.go
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
	// Tracked (which takes the epoch) before the account is identified:
	// an EndAccount between the two counts as after it.
	if !s.track(sess) {
		s.hosts.Delete(sess)
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	if s.opts.Identify != nil {
		sess.identity.UserID = s.opts.Identify(r)
	}
	// The session runs on a goroutine of its own and the request's
	// returns, so that net/http lets go of what it kept for the request
	// (its connection's buffers, the request, the response) for the
	// whole call; tracking (s.running) is what waits for the session.
	go func() {
		defer s.untrack(sess)
		defer s.hosts.Delete(sess)
		sess.run()
	}()
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

// Router returns the SFU router of a live meeting, or nil (for tests that
// play a tampered server).
func (s *Server) Router(id meeting.ID) *sfu.Router { return s.hub.Router(id) }

// iceServers are the ICE servers for a participant's welcome on conn: the
// configured ones and those of ICEServersFor (for the address a local
// socket reached).
func (s *Server) iceServers(conn live.Conn, participant string) []ICEServer {
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
	s.endAccount(userID, reason, message)
	s.announceEndAccount(userID, reason, message) // and on the cluster's other nodes (relay.go)
}

// endAccount is EndAccount on this node only.
func (s *Server) endAccount(userID, reason, message string) {
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
	s.mu.Unlock()
	s.hub.EndAccount(userID, reason, message)
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

// Stats is a snapshot for metrics.
type Stats struct {
	Meetings     int // meetings with someone in them
	Participants int // participants, including those reconnecting
	Connections  int // open signalling sockets (on this node: not members relayed from others)
}

// Stats returns current counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Connections: len(s.sessions)}
	for sess := range s.sessions {
		if sess.remote != nil {
			st.Connections-- // a socket on another node (remote.go)
		}
	}
	s.mu.Unlock()
	st.Meetings, st.Participants = s.hub.Counts()
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
	s.mu.Unlock()

	for _, sess := range sessions {
		sess.Close(live.Closed(wire.ClosedShutdown, "The server is restarting. Please rejoin in a moment."))
	}
	s.hub.Close()
	defer s.hub.Flush(ctx) // who was in each meeting stays kept for the next run
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
