package signal

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/cascade"
	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Meetings that span nodes, first version: a meeting lives on one node,
// its placement (internal/cluster); a participant's socket may reach any
// node the meeting's regions allow. That node (the entry node) keeps the
// socket, its limits and checks, places the meeting, and if it is placed
// elsewhere relays the socket's messages to the meeting's node over NATS
// (cluster.JoinSubject, cluster.MemberSubject), where a session without a
// socket (remote.go) is the member of the room. The member's SFU peer is
// on the entry node, so media flows between the browser and the node it
// reached; the nodes relay the meeting's tracks between them (entry.go).

// AllowedRegions gives a meeting's allowed regions from its own (nil: the
// organisation's), as meeting.AllowedRegions does: named false means
// anywhere.
type AllowedRegions func(ctx context.Context, own *meeting.Regions) (allowed meeting.Regions, named bool, err error)

// clusterLink is the signalling server's part in the cluster.
type clusterLink struct {
	node    *cluster.Node
	allowed AllowedRegions
	stop    func()
	// cascade relays media with the other nodes; media is this node's
	// routers for meetings held elsewhere (entry.go).
	cascade *cascade.Cascade
	media   *entryMedia
	// checked is when each meeting's relayed members' regions were last
	// checked at a lease (leaseRegionsCheck), under checkedMu.
	checkedMu sync.Mutex
	checked   map[meeting.ID]time.Time
}

// relayJoin is a relayed join (the request on cluster.JoinSubject): who
// the entry node says the participant is, and their hello as sent.
type relayJoin struct {
	Member string          `json:"member"`
	From   string          `json:"from"`
	UserID string          `json:"userId,omitempty"`
	Addr   string          `json:"addr,omitempty"`
	Hello  json.RawMessage `json:"hello"`
	// Media: the entry node takes the member's media (entry.go).
	Media bool `json:"media,omitempty"`
	// Lease: the entry node says "keep" for the member every EntryLease
	// while it holds their socket, so that the meeting's node ends a
	// member whose "gone" it missed (remote.go: runRemote).
	Lease bool `json:"lease,omitempty"`
}

// relayReply is the meeting node's answer: joined (admitted, resumed or
// waiting), or the refusal's code (its message went to the member).
type relayReply struct {
	Joined bool   `json:"joined"`
	Code   string `json:"code,omitempty"`
	// Lease: the meeting's node says "keep" for this member every
	// EntryLease while it holds them (entrycheck.go), so the entry node
	// watches them from the join on, not only from the first keep (a
	// close lost before it would leave them unwatched).
	Lease bool `json:"lease,omitempty"`
}

// relayTimeout bounds a relayed join's round trip.
const relayTimeout = 10 * time.Second

const (
	msgNodeUnreachable = "The server holding this meeting did not answer. Your browser will try again in a moment."
	msgNodeGone        = "The server holding this meeting stopped. Reconnecting…"
)

// JoinCluster makes the server a cluster node's signalling: joins are
// placed (allowed gives a meeting's regions), those placed on another
// node are relayed there, and joins relayed from other nodes are served.
// Call it once, before serving sockets.
func (s *Server) JoinCluster(node *cluster.Node, allowed AllowedRegions) error {
	stopJoins, err := node.HandleJoins(s.serveRelayedJoin)
	if err != nil {
		return err
	}
	stopEnded, err := node.HandleBroadcasts(cluster.AccountsEndedSubject, func(data []byte) {
		var e accountEnded
		if json.Unmarshal(data, &e) != nil || e.From == node.ID() || e.UserID == "" {
			return
		}
		s.endAccount(e.UserID, e.Reason, e.Message)
	})
	if err != nil {
		stopJoins()
		return err
	}
	stopRegions, err := node.HandleBroadcasts(regionsChangedSubject, func(data []byte) {
		if lose := s.opts.LoseRegionsChanged; lose != nil && lose() {
			return // a test's lost message
		}
		s.regionsChangedElsewhere(data, node.ID()) // entrycheck.go
	})
	if err != nil {
		stopJoins()
		stopEnded()
		return err
	}
	cl := &clusterLink{node: node, allowed: allowed}
	if err := s.startMedia(cl); err != nil {
		stopJoins()
		stopEnded()
		stopRegions()
		return err
	}
	cl.stop = func() { stopJoins(); stopEnded(); stopRegions(); cl.cascade.Close() }
	s.mu.Lock()
	s.cluster = cl
	s.mu.Unlock()
	return nil
}

// accountEnded is an account's participation ended on node From
// (cluster.AccountsEndedSubject).
type accountEnded struct {
	From    string `json:"from"`
	UserID  string `json:"userId"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// announceEndAccount tells the other nodes that an account's
// participation ended here, and closes the sockets of the account that
// this node relays (their meetings' nodes end their places when the
// announcement reaches them).
func (s *Server) announceEndAccount(userID, reason, message string) {
	cl := s.clusterLink()
	if cl == nil || userID == "" {
		return
	}
	b, _ := json.Marshal(accountEnded{From: cl.node.ID(), UserID: userID, Reason: reason, Message: message})
	if err := cl.node.Broadcast(cluster.AccountsEndedSubject, b); err != nil {
		s.log.Error("cluster: announce an ended account", "err", err)
	}
	s.mu.Lock()
	var relayed []*session
	for sess := range s.sessions {
		if sess.relay.Load() != nil && sess.identity.UserID == userID {
			relayed = append(relayed, sess)
		}
	}
	s.mu.Unlock()
	for _, sess := range relayed {
		sess.Close(live.Closed(reason, message))
	}
}

func (s *Server) clusterLink() *clusterLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cluster
}

// meetingEnded releases the placement of a meeting whose room closed here
// (unless a room opened again meanwhile).
func (s *Server) meetingEnded(id meeting.ID) {
	cl := s.clusterLink()
	if cl == nil || s.hub.Live(id) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.node.Release(ctx, id); err != nil {
		s.log.Warn("cluster: release a meeting's placement", "meeting", id, "err", err)
		return
	}
	// A join placed here before the release may have opened a new room
	// meanwhile: it claims the placement back.
	if s.hub.Live(id) {
		if err := cl.node.Claim(ctx, id); err != nil {
			s.log.Warn("cluster: a meeting's room reopened here as its placement was released", "meeting", id, "err", err)
		}
	}
}

// NodeGone ends what passes through the node id, which left the cluster:
// sockets relayed to it are closed as at a server restart (clients
// resume, and are placed again), and members relayed from it leave their
// rooms as after a lost connection (they may resume).
func (s *Server) NodeGone(id string) {
	s.mu.Lock()
	var relayed, remote []*session
	for sess := range s.sessions {
		if r := sess.relay.Load(); r != nil && r.node == id {
			relayed = append(relayed, sess)
		}
		if sess.remote != nil && sess.remote.node == id {
			remote = append(remote, sess)
		}
	}
	s.mu.Unlock()
	if len(relayed)+len(remote) > 0 {
		s.log.Warn("cluster: a node left; ending what was relayed through it", "node", id, "relayed_here", len(relayed), "relayed_from_it", len(remote))
	}
	for _, sess := range relayed {
		sess.closeEntry()
		sess.Close(live.Closed(wire.ClosedShutdown, msgNodeGone))
	}
	for _, sess := range remote {
		sess.cancel()
	}
	if cl := s.clusterLink(); cl != nil {
		cl.cascade.NodeGone(id)
	}
}

// relayLink is a socket relayed to the meeting's node.
type relayLink struct {
	cl     *clusterLink
	node   string
	member string
	unsub  func()
	closed chan struct{} // the meeting's node closed the socket
	once   sync.Once
	// heard is when the meeting's node last sent anything about the
	// member (UnixNano), and leased whether it said it keeps them
	// (entrycheck.go: watchLease).
	heard  atomic.Int64
	leased atomic.Bool
}

// forward sends one client message on.
func (r *relayLink) forward(b []byte) {
	// NATS buffers while reconnecting; a failure here is a closed
	// connection (this node stops, and the socket with it).
	_ = r.cl.node.Publish(r.node, r.member, cluster.Message{Data: b})
}

// end tells the meeting's node the socket ended, and stops listening.
func (r *relayLink) end() {
	r.cl.node.Publish(r.node, r.member, cluster.Message{Gone: true})
	r.unsub()
}

// place asks the cluster where the meeting id lives. handled is false when
// the join goes on here as on a single node (no cluster, a meeting not
// stored, or placed here); else the socket was refused or relayed, and ok
// says whether the session goes on.
func (s *session) place(id meeting.ID, m *wire.ClientMessage) (handled, ok bool) {
	cl := s.srv.clusterLink()
	if cl == nil || s.remote != nil {
		return false, false
	}
	rec, _, found, err := s.srv.opts.Meetings.LookupMeeting(s.ctx, id)
	if err != nil {
		s.log.Error("look up meeting", "meeting", id, "err", err)
		s.refuse(wire.CodeInternal, "The server could not open this meeting. Try again in a moment.")
		return true, false
	}
	if !found {
		return false, false // refused as unknown, or back into a room still live here
	}
	own := rec.Settings.Regions
	// Signalling never passes through a node outside the meeting's
	// regions: refused here before anything is relayed.
	if check := s.srv.opts.Regions; check != nil {
		refusal, err := check(s.ctx, own)
		if err != nil {
			s.log.Error("region check", "meeting", id, "err", err)
			s.refuse(wire.CodeInternal, "The server could not open this meeting. Try again in a moment.")
			return true, false
		}
		if refusal != "" {
			to := s.srv.RegionRedirect(s.ctx, own)
			s.log.Info("join refused", "meeting", id, "code", wire.CodeRegionNotAllowed, "redirect", to)
			s.refused = wire.CodeRegionNotAllowed
			s.closeWith(wire.Refused{Type: wire.TypeRefused, Code: wire.CodeRegionNotAllowed, Message: refusal, Redirect: to}, websocket.StatusPolicyViolation)
			return true, false
		}
	}
	allowed, named, err := cl.allowed(s.ctx, own)
	if err != nil {
		s.log.Error("allowed regions", "meeting", id, "err", err)
		s.refuse(wire.CodeInternal, "The server could not open this meeting. Try again in a moment.")
		return true, false
	}
	ctx, cancel := context.WithTimeout(s.ctx, relayTimeout)
	defer cancel()
	info, err := cl.node.Place(ctx, id, allowed, named)
	switch {
	case errors.Is(err, cluster.ErrNoNode):
		s.log.Info("join refused", "meeting", id, "err", err)
		s.refuse(wire.CodeServerDraining, msgDraining)
		return true, false
	case err != nil:
		s.log.Error("place meeting", "meeting", id, "err", err)
		s.refuse(wire.CodeInternal, "The server could not open this meeting. Try again in a moment.")
		return true, false
	case info.ID == cl.node.ID():
		return false, false
	case s.srv.hub.Draining() && m.Resume == "":
		// This node stops soon: nobody new comes through it (as nobody
		// new joins its own meetings); those coming back may.
		s.log.Info("join refused", "meeting", id, "code", wire.CodeServerDraining)
		s.refuse(wire.CodeServerDraining, msgDraining)
		return true, false
	}
	return true, s.relayTo(cl, info.ID, id)
}

// relayTo relays the socket's hello (s.raw) to node and, once joined
// there, every later message (read). It returns whether the session goes
// on.
func (s *session) relayTo(cl *clusterLink, node string, id meeting.ID) bool {
	r := &relayLink{cl: cl, node: node, member: cluster.NewMemberID(), closed: make(chan struct{})}
	r.heard.Store(time.Now().UnixNano())
	unsub, err := cl.node.Subscribe(r.member, func(msg cluster.Message) {
		r.heard.Store(time.Now().UnixNano())
		switch {
		case msg.Media:
			s.entryControl(r, msg.Data)
		case msg.Close != 0 && s.srv.opts.LoseClose != nil && s.srv.opts.LoseClose():
			// A test's lost message.
		case msg.Close != 0:
			s.closeEntry() // removed, replaced, ended: their media stops now
			r.once.Do(func() { close(r.closed) })
			s.closeWith(nil, websocket.StatusCode(msg.Close))
		case len(msg.Data) > 0:
			s.sendBytes(s.entryWelcome(msg.Data))
		}
	})
	if err != nil {
		s.log.Error("relay a join", "meeting", id, "node", node, "err", err)
		s.refuse(wire.CodeInternal, "The server could not open this meeting. Try again in a moment.")
		return false
	}
	r.unsub = unsub
	req := relayJoin{Member: r.member, From: cl.node.ID(), UserID: s.identity.UserID, Hello: s.raw, Media: true, Lease: true}
	if s.srv.endedSince(s) {
		req.UserID = "" // as a local join would: a guest
	}
	if s.identity.Addr.IsValid() {
		req.Addr = s.identity.Addr.String()
	}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(s.ctx, relayTimeout)
	defer cancel()
	s.relay.Store(r) // before the reply: the meeting node may close it at once
	// Joined from now on as far as this node is concerned (drain notices,
	// the hello timer): welcome may reach the client before the reply
	// reaches us. A refusal ends the session anyway.
	s.joined.Store(true)
	b, err := cl.node.Request(ctx, node, body)
	var rep relayReply
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	if err != nil {
		r.end()
		s.relay.Store(nil)
		s.log.Warn("relay a join", "meeting", id, "node", node, "err", err)
		s.refuse(wire.CodeServerDraining, msgNodeUnreachable)
		return false
	}
	s.log.Info("join relayed", "meeting", id, "node", node, "joined", rep.Joined)
	if rep.Joined {
		if rep.Lease {
			r.leased.Store(true)
		}
		go s.watchLease(r) // entrycheck.go
		return true
	}
	if failedJoin(rep.Code) {
		s.srv.failures.Allow(policy.AddressKey(s.identity.Addr))
	}
	// The reason is on its way, then the close: wait for it, bounded.
	t := time.NewTimer(relayTimeout)
	defer t.Stop()
	select {
	case <-r.closed:
	case <-s.ctx.Done():
	case <-t.C:
		s.refuse(wire.CodeInternal, "The server could not add you to the meeting. Try again in a moment.")
	}
	return false
}

// failedJoin reports whether a refusal counts against the address's
// failures (hello.go: unknown meetings, wrong passcodes, bans, …).
func failedJoin(code string) bool {
	switch code {
	case wire.CodeMeetingNotFound, wire.CodeWrongPasscode, wire.CodeBanned, wire.CodeSignInRequired, wire.CodeBadToken:
		return true
	}
	return false
}
