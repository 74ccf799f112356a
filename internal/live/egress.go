package live

import (
	"context"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Egress: a program outside the signalling (a WHEP client,
// internal/whip) watches a meeting. It follows the rules of ingest
// (ingest.go), of which it is the other direction: a participant of its
// own kind (meeting.Participant.Ingest and Viewer) with a Conn that
// drops every message, no waiting room (its token is the host's
// consent), never kept across restarts, allowed only where the
// meeting's policy allows sources outside end-to-end encryption
// (meeting.Settings.IngestAllowed; turning that off takes viewers out
// too), and marked in everyone's roster, from which a host can remove
// it. It publishes nothing; its sfu.Viewer receives the active speaker.

// Egress puts a viewer into the meeting's main room and gives it an
// sfu.Viewer for its offer. When the viewer is done the caller closes
// the sfu.Viewer and calls Leave with the returned ID and its Conn.
func (h *Hub) Egress(ctx context.Context, id meeting.ID, src Source) (*Room, meeting.ParticipantID, *sfu.Viewer, error) {
	r, st, err := h.Open(ctx, id)
	if err != nil {
		return nil, "", nil, err
	}
	pid, v, err := r.addViewer(src, st)
	if err != nil {
		return nil, "", nil, err
	}
	return r, pid, v, nil
}

func (r *Room) addViewer(src Source, st *Stored) (pid meeting.ParticipantID, v *sfu.Viewer, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return "", nil, ErrRoomClosed
	}
	defer func() {
		if err != nil && len(r.members) == 0 && r.core.Len() == 0 && r.breakouts == nil {
			r.closeLocked()
		}
	}()
	switch {
	case r.hub.isDraining():
		return "", nil, ErrDraining
	case st == nil:
		return "", nil, ErrNoSuchMeeting
	}
	r.core.Refresh(st.Record, st.Bans)
	set := r.core.Settings()
	switch {
	case !set.IngestAllowed():
		return "", nil, ErrIngestForbidden
	case set.Locked:
		return "", nil, fmt.Errorf("egress: %w", meeting.ErrLocked)
	}
	p, err := r.core.Restore(meeting.Participant{
		ID:       meeting.NewParticipantID(),
		Name:     src.Name,
		Role:     meeting.RoleParticipant,
		Identity: meeting.Identity{Addr: src.Addr},
		JoinedAt: time.Now(),
		Ingest:   true,
		Viewer:   true,
	})
	if err != nil {
		return "", nil, err
	}
	r.core.SetConnected(p.ID, true)
	v, err = r.router.AddViewer(string(p.ID), src.Ended)
	if err != nil {
		r.core.Leave(p.ID)
		return "", nil, fmt.Errorf("add viewer: %w", err)
	}
	p, _ = r.core.Participant(p.ID)
	r.members[p.ID] = &member{conn: src.Conn}
	r.broadcastLocked(wire.ParticipantEvent{Type: wire.TypeParticipantJoined, Participant: toParticipantJSON(p)}, p.ID)
	r.log.Info("egress viewer joined", "participant", p.ID)
	return p.ID, v, nil
}
