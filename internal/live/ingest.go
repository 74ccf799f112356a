package live

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Ingest: a media source outside the signalling (a WHIP client,
// internal/whip) publishes into a meeting as a participant of its own
// kind (meeting.Participant.Ingest). It has no WebSocket and no MLS
// leaf: its Conn drops every message, it never waits in the waiting
// room (its token is the host's consent), receives nothing, is never
// kept across restarts, and everyone's roster marks it as not end-to-end
// encrypted. The meeting's policy (meeting.Settings.IngestAllowed) says
// whether it may publish at all; turning that off takes the sources out.

// ErrIngestForbidden refuses a source: the meeting is end-to-end
// encrypted and its host has not allowed sources outside encryption.
var ErrIngestForbidden = errors.New("this end-to-end encrypted meeting does not allow ingest")

// HeldElsewhere refuses a source on a node that does not hold the
// meeting (a cluster places each meeting on one node, and a source's
// media is not relayed): URL is that node's, when it has one.
type HeldElsewhere struct{ URL string }

func (e *HeldElsewhere) Error() string { return "the meeting is held on another node" }

// Source is a media source asking to publish into a meeting.
type Source struct {
	// Conn is the source's connection: it receives nothing a person
	// would, and Close ends the source's session.
	Conn Conn
	// Name is shown in the roster (the token's name).
	Name string
	// Addr is where the request came from.
	Addr netip.Addr
	// Ended is called, on its own goroutine, when the source's media
	// transport fails or closes.
	Ended func()
}

// Ingest puts a source into the meeting's main room and gives it a peer
// that only publishes. The caller hands the peer its offer and, when the
// source is done, calls Leave with the returned ID and its Conn.
func (h *Hub) Ingest(ctx context.Context, id meeting.ID, src Source) (*Room, meeting.ParticipantID, *sfu.Peer, error) {
	r, st, err := h.Open(ctx, id)
	if err != nil {
		return nil, "", nil, err
	}
	pid, peer, err := r.addSource(src, st)
	if err != nil {
		return nil, "", nil, err
	}
	return r, pid, peer, nil
}

func (r *Room) addSource(src Source, st *Stored) (meeting.ParticipantID, *sfu.Peer, error) {
	var peer *sfu.Peer
	p, err := r.addProgram(src, st, false, func(p meeting.Participant) (meeting.Participant, *member, error) {
		p, _, _ = r.core.SetMedia(p.ID, meeting.MediaState{Audio: true, Video: true})
		var err error
		if peer, err = r.router.AddPublisher(string(p.ID), src.Conn, src.Ended); err != nil {
			return p, nil, fmt.Errorf("add publisher: %w", err)
		}
		return p, &member{conn: src.Conn, peer: peer}, nil
	})
	return p.ID, peer, err
}

// addProgram puts a program, a source or (viewer) a viewer, into the
// main room under the rules both follow (not while the server drains or
// the meeting is locked, only where the meeting allows programs outside
// encryption, no waiting room, connected at once) and tells everyone.
// attach gives it its media under the room's lock and returns it as it
// then is, with the member to keep; if attach fails the program is
// taken out again.
func (r *Room) addProgram(src Source, st *Stored, viewer bool, attach func(meeting.Participant) (meeting.Participant, *member, error)) (_ meeting.Participant, err error) {
	kind := "ingest source"
	if viewer {
		kind = "egress viewer"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return meeting.Participant{}, ErrRoomClosed
	}
	defer func() {
		if err != nil && len(r.members) == 0 && r.core.Len() == 0 && r.breakouts == nil {
			r.closeLocked()
		}
	}()
	switch {
	case r.hub.isDraining():
		return meeting.Participant{}, ErrDraining
	case st == nil:
		return meeting.Participant{}, ErrNoSuchMeeting
	}
	r.core.Refresh(st.Record, st.Bans)
	set := r.core.Settings()
	switch {
	case !set.IngestAllowed():
		return meeting.Participant{}, ErrIngestForbidden
	case set.Locked:
		return meeting.Participant{}, fmt.Errorf("%s: %w", kind, meeting.ErrLocked)
	}
	p, err := r.core.Restore(meeting.Participant{
		ID:       meeting.NewParticipantID(),
		Name:     src.Name,
		Role:     meeting.RoleParticipant,
		Identity: meeting.Identity{Addr: src.Addr},
		JoinedAt: time.Now(),
		Ingest:   true,
		Viewer:   viewer,
	})
	if err != nil {
		return meeting.Participant{}, err
	}
	r.core.SetConnected(p.ID, true)
	id := p.ID
	p, m, err := attach(p)
	if err != nil {
		r.core.Leave(id)
		return meeting.Participant{}, err
	}
	r.members[p.ID] = m
	if !viewer {
		r.applyBlocksLocked(p.ID)
	}
	r.broadcastLocked(wire.ParticipantEvent{Type: wire.TypeParticipantJoined, Participant: toParticipantJSON(p)}, p.ID)
	r.log.Info(kind+" joined", "participant", p.ID)
	return p, nil
}

// dropSourcesLocked takes every source out once the meeting no longer
// allows them.
func (r *Room) dropSourcesLocked() {
	if r.core.Settings().IngestAllowed() {
		return
	}
	for _, p := range r.core.Participants() {
		if !p.Ingest {
			continue
		}
		if m := r.members[p.ID]; m != nil && m.conn != nil {
			m.conn.Close(Closed(wire.ClosedRemoved, "The meeting no longer allows sources outside end-to-end encryption."))
		}
		r.removeLocked(p.ID, wire.LeftRemoved)
		r.log.Info("ingest source removed: the meeting no longer allows it", "participant", p.ID)
	}
}
