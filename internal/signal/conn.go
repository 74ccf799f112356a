package signal

import (
	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// A session is its participant's live.Conn: the room's messages go into
// its outbox, and a room's reason to end it becomes a WebSocket close.
var _ live.Conn = (*session)(nil)

// The Conn methods: what a room sends this socket, and how it ends it.

func (s *session) Send(msg any)         { s.send(msg) }
func (s *session) SendEncoded(b []byte) { s.sendBytes(b) }
func (s *session) Close(r live.Reason)  { s.closeWith(r.Wire(), closeStatus(r)) }
func (s *session) Congested() bool      { return s.congested() }

// closeStatus is the WebSocket close code for a reason: a normal closure
// when the meeting (or the socket's place in it) ended as meetings do,
// going away when the server stops, and a policy violation when the
// participant was put out (removed, denied, flooding, their account
// ended).
func closeStatus(r live.Reason) websocket.StatusCode {
	if r.Refused {
		return websocket.StatusPolicyViolation
	}
	switch r.Code {
	case wire.ClosedReplaced, wire.ClosedEnded, wire.ClosedBreakoutEnded:
		return websocket.StatusNormalClosure
	case wire.ClosedShutdown:
		return websocket.StatusGoingAway
	}
	return websocket.StatusPolicyViolation
}
