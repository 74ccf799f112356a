package signal

import (
	"encoding/json"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// The meeting node's side of a relayed socket (relay.go): a session with
// no WebSocket, fed by the entry node's messages and publishing the
// room's back to it. As a live.Conn it is a local socket's twin: the same
// bounded outbox (a member who cannot keep up is closed as too slow), the
// same message handling (session.handle), the same SFU signalling. The
// entry node ran the socket's limits and checks; the identity it sends
// is trusted (nodes trust each other over NATS).

// remoteInbox is how many of a relayed member's messages may wait to be
// handled; past it the member is ended (the entry node paces its socket,
// so only a stuck room gets there).
const remoteInbox = 512

// remoteLink is where a relayed member's socket is: its entry node and
// member ID, and the messages it sent, in order.
type remoteLink struct {
	cl     *clusterLink
	node   string
	member string
	in     chan cluster.Message
	// media: the entry node takes the member's media (entry.go).
	media bool
	// lease: the entry node says keep every EntryLease (entrycheck.go).
	lease bool
	// router: the room (live.Room.MediaKey) the member's peer was last
	// opened in on the entry node (OpenMedia), whose router here takes
	// their relayed tracks while they are its member (mediaPublisher).
	router atomic.Pointer[string]
}

// serveRelayedJoin takes a join relayed from another node.
func (s *Server) serveRelayedJoin(data []byte, respond func([]byte)) {
	reply := func(r relayReply) {
		b, _ := json.Marshal(r)
		respond(b)
	}
	cl := s.clusterLink()
	var req relayJoin
	if cl == nil || json.Unmarshal(data, &req) != nil || !cluster.ValidMemberID(req.Member) ||
		!config.ValidNodeID(req.From) || len(req.Hello) > maxFrameBytes {
		reply(relayReply{Code: wire.CodeBadRequest})
		return
	}
	hello, err := decodeClientMessage(req.Hello)
	if err != nil || hello.Type != "hello" {
		reply(relayReply{Code: wire.CodeBadRequest})
		return
	}
	id := meeting.Identity{UserID: req.UserID}
	if a, err := netip.ParseAddr(req.Addr); err == nil {
		id.Addr = a
	}
	sess := newSession(s, nil, "relayed from "+req.From, id)
	sess.raw = req.Hello
	link := &remoteLink{cl: cl, node: req.From, member: req.Member, in: make(chan cluster.Message, remoteInbox), media: req.Media, lease: req.Lease}
	sess.remote = link
	sess.log = sess.log.With("relayed_from", req.From)
	if !s.track(sess) {
		reply(relayReply{Code: wire.CodeServerDraining})
		cl.node.Publish(req.From, req.Member, cluster.Message{Data: mustJSON(wire.Refused{Type: wire.TypeRefused, Code: wire.CodeServerDraining, Message: msgDraining})})
		cl.node.Publish(req.From, req.Member, cluster.Message{Close: int(websocket.StatusGoingAway)})
		return
	}
	unsub, err := cl.node.Subscribe(req.Member, func(m cluster.Message) {
		select {
		case link.in <- m:
		default:
			sess.log.Warn("relayed member's messages pile up; ending it", "participant", sess.pid)
			sess.cancel()
		}
	})
	if err != nil {
		s.untrack(sess)
		reply(relayReply{Code: wire.CodeInternal})
		return
	}
	go func() {
		defer s.untrack(sess)
		defer unsub()
		sess.runRemote(hello, reply)
	}()
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// runRemote serves a relayed member until its socket on the entry node
// ends, or the room ends it: hello first (its outcome is the relayed
// join's reply), then the messages in order.
func (s *session) runRemote(hello *wire.ClientMessage, reply func(relayReply)) {
	ok := s.handle(hello)
	lease := ok && s.remote.media
	reply(relayReply{Joined: ok, Code: s.refused, Lease: lease})
	if lease {
		go s.keepRemote() // entrycheck.go
	}
	// The entry node's keeps: one that says it sends them and then says
	// nothing for three leases lost its socket and the "gone" with it.
	var silent <-chan time.Time
	if s.remote.lease {
		t := time.NewTicker(s.srv.entryLease())
		defer t.Stop()
		silent = t.C
	}
	heard := time.Now()
	for ok {
		select {
		case <-s.ctx.Done():
			ok = false
		case <-silent:
			if time.Since(heard) > 3*s.srv.entryLease() {
				s.log.Warn("cascade: the entry node no longer speaks of a relayed member; ending them as a lost connection", "participant", s.pid)
				ok = false
			}
		case m := <-s.remote.in:
			heard = time.Now()
			if m.Gone && s.srv.opts.LoseGone != nil && s.srv.opts.LoseGone() {
				continue // a test's lost message
			}
			if m.Gone {
				ok = false
				continue
			}
			if m.Flooded {
				if s.room != nil {
					s.room.MemberFlooded(s.pid, s) // mediaflood.go
				}
				ok = false
				continue
			}
			if m.Media {
				continue // the entry node's keep; media messages go the other way
			}
			msg, err := decodeClientMessage(m.Data)
			if err != nil {
				continue // the entry node checked it; nothing to say
			}
			ok = s.handle(msg)
		}
	}
	s.finish()
	// The meeting's node relays a room only to nodes holding its members
	// (entrycheck.go): the last one gone, its relays with that node go
	// too, whether or not the entry node heard of it.
	if s.remote.media && s.room != nil {
		// Their relayed tracks end here at once, whether or not the entry
		// node heard of their end (mediaPublisher).
		s.srv.recheckRelayed(s.remote.router.Load(), s.remote.node)
		if key := s.room.MediaKey(); !s.srv.mediaMembersOn(key, s.remote.node) {
			s.remote.cl.cascade.Drop(key, s.remote.node)
		}
	}
}
