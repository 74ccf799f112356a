package sfu

import "errors"

// Sentinel errors, mapped to protocol error codes by the signalling layer.
var (
	// ErrBadSDP means a session description could not be parsed or applied.
	ErrBadSDP = errors.New("bad session description")
	// ErrBadTracks means a client's list of published tracks does not match
	// its offer or names an unknown or repeated source.
	ErrBadTracks = errors.New("bad published tracks")
	// ErrBadCandidate means an ICE candidate could not be applied.
	ErrBadCandidate = errors.New("bad ICE candidate")
	// ErrUnexpectedAnswer means an answer arrived with no offer outstanding.
	ErrUnexpectedAnswer = errors.New("no offer outstanding")
	// ErrOutOfTurn means the client offered while the server's offer was
	// outstanding, or granted a turn that was not asked for.
	ErrOutOfTurn = errors.New("negotiation out of turn")
	// ErrPeerClosed means the peer has been closed.
	ErrPeerClosed = errors.New("peer closed")
	// ErrRouterClosed means the meeting's router has been closed.
	ErrRouterClosed = errors.New("router closed")
	// ErrDuplicatePeer means the participant already has a peer in the router.
	ErrDuplicatePeer = errors.New("participant already has a peer")
)
