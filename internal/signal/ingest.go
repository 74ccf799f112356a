package signal

import (
	"context"
	"errors"
	"fmt"

	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
)

// Ingest puts a media source (a WHIP client, internal/whip) into a
// meeting's live room on this node (live.Hub.Ingest). In a cluster the
// meeting is placed first, as for a join: a source's media is not relayed
// between nodes, so a meeting held on another node is refused with a
// *live.HeldElsewhere naming that node's URL, if it has one.
func (s *Server) Ingest(ctx context.Context, id meeting.ID, src live.Source) (*live.Room, meeting.ParticipantID, *sfu.Peer, error) {
	if cl := s.clusterLink(); cl != nil {
		if err := s.placeSource(ctx, cl, id); err != nil {
			return nil, "", nil, err
		}
	}
	return s.hub.Ingest(ctx, id, src)
}

// Egress puts a viewer (a WHEP client, internal/whip) into a meeting's
// live room on this node (live.Hub.Egress), placed as a source is: a
// meeting held on another node is refused with a *live.HeldElsewhere.
func (s *Server) Egress(ctx context.Context, id meeting.ID, src live.Source) (*live.Room, meeting.ParticipantID, *sfu.Viewer, error) {
	if cl := s.clusterLink(); cl != nil {
		if err := s.placeSource(ctx, cl, id); err != nil {
			return nil, "", nil, err
		}
	}
	return s.hub.Egress(ctx, id, src)
}

// placeSource places the meeting and refuses a source for a meeting held
// elsewhere.
func (s *Server) placeSource(ctx context.Context, cl *clusterLink, id meeting.ID) error {
	rec, _, found, err := s.opts.Meetings.LookupMeeting(ctx, id)
	if err != nil {
		return fmt.Errorf("look up meeting %s: %w", id, err)
	}
	if !found {
		return live.ErrNoSuchMeeting
	}
	allowed, named, err := cl.allowed(ctx, rec.Settings.Regions)
	if err != nil {
		return fmt.Errorf("allowed regions of %s: %w", id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	info, err := cl.node.Place(ctx, id, allowed, named)
	switch {
	case errors.Is(err, cluster.ErrNoNode):
		return live.ErrDraining
	case err != nil:
		return fmt.Errorf("place meeting %s: %w", id, err)
	case info.ID != cl.node.ID():
		return &live.HeldElsewhere{URL: info.URL}
	}
	return nil
}
