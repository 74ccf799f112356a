package live

import (
	"context"
	"fmt"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
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

func (r *Room) addViewer(src Source, st *Stored) (meeting.ParticipantID, *sfu.Viewer, error) {
	var v *sfu.Viewer
	p, err := r.addProgram(src, st, true, func(p meeting.Participant) (meeting.Participant, *member, error) {
		var err error
		if v, err = r.router.AddViewer(string(p.ID), src.Ended); err != nil {
			return p, nil, fmt.Errorf("add viewer: %w", err)
		}
		p, _ = r.core.Participant(p.ID)
		return p, &member{conn: src.Conn}, nil
	})
	return p.ID, v, err
}
