package signal

import (
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

var _ sfu.FloodWatcher = (*session)(nil)

// PeerFlooded: the SFU closed this session's media peer for flooding (its
// client named more SSRCs than a participant may make the server keep
// streams for; internal/sfu, rtcpsink.go). Coming back to flood again
// counts against the address like a failed join, as a socket's flood
// does. In a meeting held on this node the room has already taken the
// member out and closed this session (live, flood.go); on an entry node
// (the meeting held elsewhere, the peer in this node's router for it)
// nobody else knows, so the session is closed here with the same reason,
// which ends the member's relay to the meeting's node.
func (s *session) PeerFlooded(p *sfu.Peer) {
	s.srv.failures.Allow(policy.AddressKey(s.identity.Addr))
	ep := s.entry.Load()
	if ep == nil {
		return
	}
	<-ep.ready // set before any media can flow; never long
	if ep.peer != p {
		return // an older peer's close, after the session's peer changed
	}
	s.log.Warn("entry peer closed for flooding; closing the client's socket", "participant", s.pid)
	s.Close(live.Closed(wire.ClosedFlooding, live.FloodedMessage))
}
