package signal

import (
	"context"
	"errors"
	"fmt"

	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// msgMoved is what members of a moved meeting are told as their socket
// closes; their client resumes at once (wire.ClosedShutdown).
const msgMoved = "This meeting is moving to another server. Reconnecting…"

// ErrNotClustered: a move was asked of a server that is not a cluster
// node (there is nowhere to move to).
var ErrNotClustered = errors.New("signal: not a cluster node: a meeting has nowhere to move")

// MoveMeeting moves a meeting held on this node to the node target (""
// lets placement choose the least-loaded other node that may hold it, not
// draining): its placement is moved first (cluster.Node.MoveTo, a
// compare-and-set on this node's placement), then its room here closes
// with everyone kept (live.Hub.CloseForMove), so that members resume
// through the node they reached, which now places the meeting on the
// target. It returns the target and whether the meeting was live here;
// with no node to move to the error wraps cluster.ErrNoNode, and nothing
// changed.
func (s *Server) MoveMeeting(ctx context.Context, id meeting.ID, target string) (string, bool, error) {
	if !s.hub.Live(id) {
		return "", false, nil
	}
	cl := s.clusterLink()
	if cl == nil {
		return "", true, fmt.Errorf("%w: %w", cluster.ErrNoNode, ErrNotClustered)
	}
	rec, _, found, err := s.opts.Meetings.LookupMeeting(ctx, id)
	if err != nil {
		return "", true, fmt.Errorf("signal: move: look up meeting: %w", err)
	}
	if !found {
		return "", true, fmt.Errorf("%w: the meeting is no longer stored", cluster.ErrNoNode)
	}
	allowed, named, err := cl.allowed(ctx, rec.Settings.Regions)
	if err != nil {
		return "", true, fmt.Errorf("signal: move: allowed regions: %w", err)
	}
	info, err := cl.node.MoveTo(ctx, id, target, allowed, named)
	if errors.Is(err, cluster.ErrNotPlacedHere) {
		return "", false, nil // moved or ended meanwhile: not live here as far as a move goes
	}
	if err != nil {
		return "", true, err
	}
	live := s.hub.CloseForMove(id, msgMoved)
	s.log.Info("meeting moved to another node", "meeting", id, "to", info.ID, "live", live)
	return info.ID, true, nil
}
