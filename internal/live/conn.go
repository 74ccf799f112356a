package live

import (
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Conn is a member's connection as a Room sees it: where the room's
// messages to one participant (or waiting joiner) go, and how the room
// ends it. A local WebSocket (internal/signal) is one; a participant on
// another node can be another. Nothing in it is a transport's: no socket,
// no close code. Rooms call it under their lock, so no method may block or
// call back into a room. A room compares Conns (==) to tell whether a call
// comes from a member's current connection: make them pointers.
type Conn interface {
	// Send queues one message (a wire type) for the participant. It never
	// blocks: a connection that cannot take more ends itself (the
	// participant may resume).
	Send(msg any)
	// SendEncoded queues a message already encoded as JSON, the same
	// bytes for every member it is broadcast to; the connection must not
	// change them.
	SendEncoded(msg []byte)
	// Close sends the reason as the last message and ends the connection.
	// Safe from any goroutine, more than once (the first wins).
	Close(r Reason)
	// Congested reports whether what waits to be delivered is over the
	// mark at which the senders of relayed messages are held back: the
	// room returns such recipients from E2EEMessage, for the sender's
	// connection to wait on.
	Congested() bool
	// The participant's peer in the room's SFU router (on this node)
	// sends its negotiation through the connection.
	sfu.Signaller
}

// Reason is why a room ends a connection: closed (Refused false: Code is
// a wire.Closed… reason) or refused (a waiting joiner turned away: Code is
// a wire.Code…), with the sentence the client shows. A transport maps it
// to its own way of closing (internal/signal: a WebSocket close code).
type Reason struct {
	Refused bool
	Code    string
	Message string
}

// Closed is a closed message's reason (code: a wire.Closed… constant).
func Closed(code, message string) Reason {
	return Reason{Code: code, Message: message}
}

// Refused is a refused message's reason (code: a wire.Code… constant).
func Refused(code, message string) Reason {
	return Reason{Refused: true, Code: code, Message: message}
}

// Wire is the reason as the last wire message: wire.Closed or
// wire.Refused.
func (r Reason) Wire() any {
	if r.Refused {
		return wire.Refused{Type: wire.TypeRefused, Code: r.Code, Message: r.Message}
	}
	return wire.Closed{Type: wire.TypeClosed, Reason: r.Code, Message: r.Message}
}

// Joiner is a connection asking a room to let it in (hello).
type Joiner struct {
	Conn  Conn
	Hello *wire.ClientMessage
	// Identity is who the connection is: account and address (the device
	// comes with hello).
	Identity meeting.Identity
	// EndedSince, if set, reports whether the account the connection was
	// identified as had its participation ended since (it then joins as a
	// guest); asked under the room's lock, so that Hub.EndAccount either
	// sees the join or the join sees the end.
	EndedSince func() bool
	// Placed, if set, is told the room and the participant ID the
	// connection has joined as (admitted, resumed or waiting), under the
	// room's lock and before welcome.
	Placed func(r *Room, pid meeting.ParticipantID)
}

func (j *Joiner) place(r *Room, pid meeting.ParticipantID) {
	if j.Placed != nil {
		j.Placed(r, pid)
	}
}
