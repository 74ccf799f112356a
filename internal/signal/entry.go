package signal

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kaigi-meet/kaigi/internal/cascade"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Cascading media (issue 17): a member whose socket entered by a node
// other than their meeting's (the entry node, relay.go) has their
// PeerConnection on the entry node, so that their media stays near them.
// Everything else about them (admission, roster, E2EE delivery, host
// controls) stays on the meeting's node, as for any relayed member.
//
// The meeting's node makes no SFU peer for such a member (live.
// MediaElsewhere): once they are admitted it tells the entry node, on the
// member's subject and in order with the server's messages to them, to
// open their peer in the entry node's router for the meeting ("open"),
// then what the SFU must drop of theirs and whether they may publish a
// screen ("blocks", again at each host control). The entry node opens the
// peer and exchanges the room's media with the meeting's node
// (cascade.Exchange: it asks for the meeting's tracks, and the meeting's
// node, told "ready" on the relay subject, asks for the tracks published
// on the entry node in turn; it asks again while the router lasts, if a
// relay closes or an ask brings none). The entry node
// handles the member's negotiation messages (offer, answer, ready,
// candidate, video_size) against that peer from then on; the others still
// go to the meeting's node. The member's socket ending, or the meeting's
// node closing it (removed, meeting ended, replaced), closes the peer;
// the router closes with its last peer, and its relays with it.
//
// Media thus flows as a star around the meeting's node, whose router
// relays what one entry node sends on to the others (sfu.Router.RelayOn).
// Relays go only between nodes in the meeting's allowed regions, and
// from the meeting's node only to nodes holding its members
// (mediaAllowed, entrycheck.go).

// mediaControl is a node's message about a relayed member's media
// (cluster.Message.Media).
type mediaControl struct {
	// Op: "open", "blocks" or "keep" (meeting node to entry node;
	// keep: entrycheck.go).
	Op string `json:"op"`
	// Router names the meeting's router (live.Room.MediaKey): open.
	Router string `json:"router,omitempty"`
	// Participant is the member's participant ID: open, blocks.
	Participant string `json:"participant,omitempty"`
	// What the member may forward, and whether they may publish a
	// screen: open, blocks.
	Audio  bool `json:"audio,omitempty"`
	Video  bool `json:"video,omitempty"`
	Screen bool `json:"screen,omitempty"`
	Share  bool `json:"share,omitempty"`
}

// Operations of mediaControl.
const (
	mediaOpen   = "open"
	mediaBlocks = "blocks"
)

// entryMedia is this node's routers for meetings held on other nodes, by
// router key.
type entryMedia struct {
	sfu     *sfu.SFU
	cascade *cascade.Cascade
	log     *slog.Logger

	mu      sync.Mutex
	routers map[string]*entryRouter
}

// entryRouter is one meeting's router on an entry node: the meeting's
// node, and whose peers it holds (participant ID to session).
type entryRouter struct {
	key    string
	node   string
	router *sfu.Router
	owners map[string]*session
}

// entryPeer is a relayed member's peer on this node. It is the session's
// before the peer exists: the peer's first renegotiate may reach the
// browser, and its offer come back, before AddPeer returns.
type entryPeer struct {
	er    *entryRouter
	pid   string
	ready chan struct{} // closed once peer is set (nil: it could not open)
	peer  *sfu.Peer
	share atomic.Bool // they may publish a screen (the last blocks)
}

// router returns this node's router for a meeting held elsewhere.
func (em *entryMedia) router(key string) *sfu.Router {
	em.mu.Lock()
	defer em.mu.Unlock()
	if er := em.routers[key]; er != nil {
		return er.router
	}
	return nil
}

// count is how many routers this node holds for meetings held elsewhere.
func (em *entryMedia) count() int {
	em.mu.Lock()
	defer em.mu.Unlock()
	return len(em.routers)
}

// EntryRouters counts the routers this node holds for meetings placed on
// other nodes (members whose sockets entered here), for tests and metrics.
func (s *Server) EntryRouters() int {
	cl := s.clusterLink()
	if cl == nil {
		return 0
	}
	return cl.media.count()
}

// RelayNodes lists the nodes this node relays a meeting's router (key:
// live.Room.MediaKey) to and from, whether the meeting is held here or
// elsewhere, for tests and metrics.
func (s *Server) RelayNodes(key string) (to, from []string) {
	r := s.hub.MediaRouter(key)
	if cl := s.clusterLink(); r == nil && cl != nil && cl.media != nil {
		r = cl.media.router(key)
	}
	if r == nil {
		return nil, nil
	}
	return r.RelayNodes()
}

// startMedia starts this node's side of the media relays between nodes.
func (s *Server) startMedia(cl *clusterLink) error {
	cl.media = &entryMedia{sfu: s.opts.SFU, log: s.log, routers: make(map[string]*entryRouter)}
	c, err := cascade.New(cl.node, cascade.Options{
		Router:    s.mediaRouter,
		Allowed:   s.mediaAllowed,
		Publisher: s.mediaPublisher,
		Logger:    s.log,
	})
	if err != nil {
		return err
	}
	cl.cascade = c
	cl.media.cascade = c
	return nil
}

// mediaRouter is the router the relays of key use here: the meeting's
// own, on its node (which relays on what it receives), or this entry
// node's for it.
func (s *Server) mediaRouter(key string) *sfu.Router {
	if r := s.hub.MediaRouter(key); r != nil {
		r.RelayOn()
		return r
	}
	if cl := s.clusterLink(); cl != nil && cl.media != nil {
		return cl.media.router(key)
	}
	return nil
}

// mediaAllowed reports whether the media of the room key names may go
// to or come from node: its region is among the meeting's allowed ones,
// and, if the meeting is held here, node holds an admitted member of the
// room whose media is there (entrycheck.go); if it is held elsewhere,
// node is the node this node's router for it relays with. Anything it
// cannot read says no.
func (s *Server) mediaAllowed(key, node string) bool {
	cl := s.clusterLink()
	if cl == nil {
		return false
	}
	if s.hub.MediaRouter(key) != nil {
		if !s.mediaMembersOn(key, node) {
			return false
		}
	} else if cl.media != nil {
		cl.media.mu.Lock()
		er := cl.media.routers[key]
		cl.media.mu.Unlock()
		if er == nil || er.node != node {
			return false
		}
	}
	id, _, _ := strings.Cut(key, "/")
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	rec, _, found, err := s.opts.Meetings.LookupMeeting(ctx, meeting.ID(id))
	if err != nil || !found {
		s.log.Warn("cascade: no meeting for a relay", "meeting", id, "err", err)
		return false
	}
	allowed, named, err := cl.allowed(ctx, rec.Settings.Regions)
	if err != nil {
		s.log.Warn("cascade: allowed regions", "meeting", id, "err", err)
		return false
	}
	if !named {
		return true
	}
	nodes, err := cl.node.Nodes(ctx)
	if err != nil {
		s.log.Warn("cascade: list nodes", "err", err)
		return false
	}
	for _, n := range nodes {
		if n.ID == node {
			return slices.Contains(allowed, n.Region)
		}
	}
	return false
}

// The meeting node's side: a relayed member's session (remote.go) is a
// live.MediaElsewhere when its entry node takes media.

// MediaElsewhere implements live.MediaElsewhere: a relayed member whose
// entry node said it takes their media.
func (s *session) MediaElsewhere() bool { return s.remote != nil && s.remote.media }

// OpenMedia implements live.MediaElsewhere: the open carries the blocks,
// which the entry node applies before the peer can forward anything.
func (s *session) OpenMedia(key string, pid meeting.ParticipantID, may meeting.MediaState, share bool) {
	if was := s.remote.router.Swap(&key); was != nil && *was != key {
		// Moved (a breakout): the room left takes their tracks no more.
		go s.srv.recheckRelayed(was, s.remote.node)
	}
	s.sendMedia(mediaControl{Op: mediaOpen, Router: key, Participant: string(pid), Audio: may.Audio, Video: may.Video, Screen: may.Screen, Share: share})
}

// SetMediaBlocks implements live.MediaElsewhere.
func (s *session) SetMediaBlocks(may meeting.MediaState, share bool) {
	s.sendMedia(mediaControl{Op: mediaBlocks, Participant: string(s.pid), Audio: may.Audio, Video: may.Video, Screen: may.Screen, Share: share})
}

// sendMedia queues a media message to the entry node, in order with the
// server's messages to the member (an open follows their welcome).
func (s *session) sendMedia(c mediaControl) {
	b, _ := json.Marshal(c)
	s.queue(frame{data: b, media: true})
}

// The entry node's side.

// entryControl is the meeting's node's media message about the member
// whose socket r relays. It runs on r's subscription, in order with the
// server's messages to the member.
func (s *session) entryControl(r *relayLink, data []byte) {
	var c mediaControl
	if json.Unmarshal(data, &c) != nil {
		s.log.Warn("cascade: ignoring a media message from the meeting's node", "node", r.node)
		return
	}
	switch c.Op {
	case mediaOpen:
		s.openEntry(r, c)
	case mediaBlocks:
		ep := s.entry.Load()
		if ep == nil || ep.pid != c.Participant || ep.peer == nil {
			return // blocks follow their open on this goroutine
		}
		ep.block(c)
	case mediaKeep:
		r.leased.Store(true) // entrycheck.go
	}
}

// block applies what the meeting's node says the member may forward and
// publish (open, blocks).
func (ep *entryPeer) block(c mediaControl) {
	ep.share.Store(c.Share)
	ep.peer.SetBlocked(sfu.SourceMicrophone, !c.Audio)
	ep.peer.SetBlocked(sfu.SourceCamera, !c.Video)
	ep.peer.SetBlocked(sfu.SourceScreen, !c.Screen)
	ep.peer.SetBlocked(sfu.SourceScreenAudio, !c.Screen)
}

// welcomePrefix starts every welcome the server encodes (wire.Welcome's
// first field).
var welcomePrefix = []byte(`{"type":"welcome"`)

// entryWelcome gives a relayed member's welcome this node's ICE servers
// in place of the meeting node's: their PeerConnection is with this node,
// so a TURN server of the cluster's must be this node's, with credentials
// it issued, for the address the browser reached. Any other message, or a
// welcome that does not parse, goes as it came.
func (s *session) entryWelcome(data []byte) []byte {
	if !bytes.HasPrefix(data, welcomePrefix) {
		return data
	}
	var w map[string]json.RawMessage
	var self struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &w) != nil || json.Unmarshal(w["self"], &self) != nil || self.ID == "" {
		return data
	}
	ice := s.srv.iceServers(s, self.ID)
	if ice == nil {
		ice = []ICEServer{}
	}
	b, err := json.Marshal(ice)
	if err != nil {
		return data
	}
	w["iceServers"] = b
	out, err := json.Marshal(w)
	if err != nil {
		return data
	}
	return out
}

// openEntry opens the member's peer in this node's router for the room
// c.Router of the meeting on r.node, with c's blocks, and asks that node
// for the room's media.
func (s *session) openEntry(r *relayLink, c mediaControl) {
	if c.Router == "" || c.Participant == "" {
		return
	}
	s.closeEntry() // a peer in the room they were moved from
	ep := &entryPeer{pid: c.Participant, ready: make(chan struct{})}
	s.entry.Store(ep)
	opened := s.addEntryPeer(r, ep, c)
	// The socket's end (run) marks entryOver, then closes the entry it
	// finds; stored before this looks, the entry is closed by one or
	// the other, never outliving the session.
	if s.entryOver.Load() {
		s.closeEntry()
		return
	}
	if !opened {
		return
	}
	if err := r.cl.cascade.Exchange(c.Router, r.node); err != nil {
		s.log.Warn("cascade: relay the meeting's media", "meeting", c.Router, "node", r.node, "err", err)
	}
}

// addEntryPeer adds the member's peer ep (already the session's) to this
// node's router for the room, blocked as c says before anyone can use
// it; it reports whether it could. ep is ready on return.
func (s *session) addEntryPeer(r *relayLink, ep *entryPeer, c mediaControl) bool {
	defer close(ep.ready)
	key, pid := c.Router, c.Participant
	em := r.cl.media
	em.mu.Lock()
	er := em.routers[key]
	if er == nil {
		er = &entryRouter{key: key, node: r.node, router: em.sfu.NewRouter(key), owners: make(map[string]*session)}
		em.watchEntryFloods(er) // mediaflood.go
		em.routers[key] = er
	}
	if er.node != r.node {
		em.mu.Unlock()
		s.entry.CompareAndSwap(ep, nil)
		s.log.Warn("cascade: a meeting's media from two nodes; not opening a peer", "meeting", key, "node", r.node, "held_by", er.node)
		return false
	}
	if old := er.owners[pid]; old != nil && old != s {
		// The meeting's node replaced their connection: the new one's
		// peer takes the place, whichever socket's news came first.
		er.router.RemovePeer(pid)
		if ep := old.entry.Load(); ep != nil && ep.er == er && ep.pid == pid {
			old.entry.CompareAndSwap(ep, nil)
		}
		delete(er.owners, pid)
	}
	ep.er = er
	peer, err := er.router.AddPeer(pid, s)
	if err != nil {
		em.dropLocked(er)
		em.mu.Unlock()
		s.entry.CompareAndSwap(ep, nil)
		s.log.Error("cascade: open a relayed member's peer", "meeting", key, "participant", pid, "err", err)
		return false
	}
	er.owners[pid] = s
	ep.peer = peer
	ep.block(c)
	em.mu.Unlock()
	return true
}

// closeEntry closes the member's peer on this node, if any; the router
// closes with its last peer. Safe from any goroutine, more than once.
func (s *session) closeEntry() {
	ep := s.entry.Swap(nil)
	if ep == nil {
		return
	}
	<-ep.ready // an open under way ends soon
	if ep.peer == nil {
		return // it could not open
	}
	em := s.srv.clusterLink().media
	em.mu.Lock()
	defer em.mu.Unlock()
	er := ep.er
	if er.owners[ep.pid] == s {
		delete(er.owners, ep.pid)
		er.router.RemovePeer(ep.pid)
	}
	em.dropLocked(er)
}

// dropLocked closes a router left without peers (and its relays). Under
// em.mu, so that a router opened again for the meeting asks for its relays
// only once these have gone.
func (em *entryMedia) dropLocked(er *entryRouter) {
	if len(er.owners) > 0 {
		return
	}
	if em.routers[er.key] == er {
		delete(em.routers, er.key)
	}
	er.router.Close()
}

// sfuMessage reports whether a client message is negotiation with the
// member's SFU peer.
func sfuMessage(typ string) bool {
	switch typ {
	case "offer", "answer", "ready", "candidate", "video_size":
		return true
	}
	return false
}

// entryMessage handles a relayed member's negotiation message against
// their peer on this node; it reports false (the message goes to the
// meeting's node) when their media is not here or the message is not
// the SFU's. Reader goroutine only.
func (s *session) entryMessage(m *wire.ClientMessage) bool {
	ep := s.entry.Load()
	if ep == nil {
		return false
	}
	if !sfuMessage(m.Type) {
		return false
	}
	select {
	case <-ep.ready:
	case <-s.ctx.Done():
		return true
	}
	peer := ep.peer
	if peer == nil {
		s.sendError(wire.CodeNotJoined, "You are not in the meeting yet.", m.ID)
		return true
	}
	var err error
	switch m.Type {
	case "offer":
		tracks := publishedTracks(m)
		for _, t := range tracks {
			if (t.Source == sfu.SourceScreen || t.Source == sfu.SourceScreenAudio) && !ep.share.Load() {
				err = meeting.ErrForbidden
			}
		}
		if err == nil {
			err = peer.HandleOffer(m.SDP, tracks)
		}
	case "answer":
		err = peer.HandleAnswer(m.SDP)
	case "ready":
		err = peer.HandleReady()
	case "candidate":
		err = peer.AddCandidate(*m.Candidate)
	case "video_size":
		peer.SetVideoSize(m.Participant, sfu.Source(m.Source), *m.Width, *m.Height)
	}
	s.reportError(err, m.ID)
	return true
}

// EntryPeers lists the participants with a peer in this node's router for
// a meeting held elsewhere (key: live.Room.MediaKey), for tests.
func (s *Server) EntryPeers(key string) []string {
	cl := s.clusterLink()
	if cl == nil || cl.media == nil {
		return nil
	}
	cl.media.mu.Lock()
	defer cl.media.mu.Unlock()
	var out []string
	if er := cl.media.routers[key]; er != nil {
		for pid := range er.owners {
			out = append(out, pid)
		}
	}
	return out
}
