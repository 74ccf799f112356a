package live

import (
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// A member whose client makes the SFU open too many media read streams
// (made-up SSRCs: internal/sfu, rtcpsink.go) has its peer closed and
// taken out of the room's router by the SFU, which tells the room
// (Router.OnPeerFlooded, set where the room's router is made). The room
// then takes the member out and closes its connection with wire.ClosedFlooding, as the
// signalling does a socket that floods it: before (review R3-2) the
// member stayed, with a dead media connection, and its client was told
// nothing.

// FloodCounter is a Conn that counts a media flood against its client
// (the signalling charges the client's address, as it does a socket's
// flood). It is told after the room has closed the connection.
type FloodCounter interface {
	CountFlood()
}

// withFloodWatch has r's router tell r of its members' peers closed for
// flooding.
func withFloodWatch(r *Room) *Room {
	r.router.OnPeerFlooded(func(p *sfu.Peer) { r.peerFlooded(p) })
	return r
}

// FloodedMessage is what the client of a member closed for flooding its
// media connection shows.
const FloodedMessage = "This connection's media sent more than the server allows and was closed."

// peerFlooded takes out the member whose peer p the SFU closed for
// flooding (its router no longer has it) and closes its connection with
// the reason. A member whose peer is no longer p (it reconnected and has
// a new one, or left) is left alone: the guard against the close of an
// old peer arriving after a resume. It reports whether it took the
// member out.
func (r *Room) peerFlooded(p *sfu.Peer) bool {
	pid := meeting.ParticipantID(p.Participant())
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[pid]
	if r.closed || m == nil || m.peer != p {
		return false
	}
	m.peer = nil // out of the router already: removeLocked must not remove a newer one
	conn := m.conn
	r.floodedLocked(pid)
	if c, ok := conn.(FloodCounter); ok {
		c.CountFlood()
	}
	return true
}

// MemberFlooded takes out a member, connected through conn, whose media
// connection a cluster's entry node closed for flooding (its peer was
// there, not in this room's router): as peerFlooded does, it is removed
// and its resume token void, rather than kept for a reconnect. A member
// no longer on conn (it resumed on another) is left alone.
func (r *Room) MemberFlooded(pid meeting.ParticipantID, conn Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[pid]; r.closed || m == nil || m.conn != conn {
		return
	}
	r.floodedLocked(pid)
}

// floodedLocked removes a member closed for flooding its media and closes
// its connection with the reason. r.mu is held.
func (r *Room) floodedLocked(pid meeting.ParticipantID) {
	r.log.Warn("participant removed: its media connection sent too many SSRCs", "participant", pid)
	conn := r.members[pid].conn
	r.removeLocked(pid, wire.LeftRemoved)
	if conn != nil {
		conn.Close(Closed(wire.ClosedFlooding, FloodedMessage))
	}
}
