package signal

import (
	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// A participant's media peer is closed by the SFU when its client names
// more SSRCs than a participant may make the server keep streams for
// (internal/sfu, rtcpsink.go). In a meeting held on this node the room
// takes the member out and closes this session (live, flood.go), then
// tells it (live.FloodCounter); on a cluster's entry node (the meeting
// held elsewhere, the peer in this node's router for it) no room knows
// the member, so the entry router's callback tells the meeting's node
// (cluster.Message.Flooded: the room there takes the member out as
// removed) and closes the session here with the same reason.

var _ live.FloodCounter = (*session)(nil)

// CountFlood counts a media flood against the client's address like a
// failed join, as a socket's flood is: coming back to flood again is
// soon refused for a while.
func (s *session) CountFlood() {
	s.srv.failures.Allow(policy.AddressKey(s.identity.Addr))
}

// watchEntryFloods has er's router close, with closed/flooding, the
// session whose entry peer it closed for flooding.
func (em *entryMedia) watchEntryFloods(er *entryRouter) {
	er.router.OnPeerFlooded(func(p *sfu.Peer) {
		em.mu.Lock()
		s := er.owners[p.Participant()]
		em.mu.Unlock()
		if s != nil {
			s.entryFlooded(p)
		}
	})
}

// entryFlooded closes the session whose entry peer p was closed for
// flooding; the close of an older peer (the session's changed since) is
// ignored.
func (s *session) entryFlooded(p *sfu.Peer) {
	ep := s.entry.Load()
	if ep == nil {
		return
	}
	<-ep.ready // set before any media can flow; never long
	if ep.peer != p {
		return
	}
	s.log.Warn("entry peer closed for flooding; closing the client's socket", "participant", ep.pid)
	if rl := s.relay.Load(); rl != nil {
		// The meeting's node takes the member out as removed and voids
		// its resume token, as the room does for a flood on its own
		// node, instead of keeping its place for a reconnect (found in
		// review 4); a node's word, which no client message becomes.
		_ = rl.cl.node.Publish(rl.node, rl.member, cluster.Message{Flooded: true})
	}
	s.Close(live.Closed(wire.ClosedFlooding, live.FloodedMessage))
	s.CountFlood()
}
