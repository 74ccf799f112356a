package signal

import (
	"context"
	"fmt"

	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// RegionCheck decides whether this node may hold a meeting whose own
// regions are own: "" if it may, else the sentence that refuses
// (meeting.RegionRefusal, from the node's region label and the
// organisation's regions, read at each check). Options.Regions is nil
// when no region is configured anywhere: nothing is checked.
type RegionCheck func(ctx context.Context, own *meeting.Regions) (refusal string, err error)

// checkRegion runs the region check for anyone joining the stored meeting
// st: new, resuming or moving between rooms alike, since nothing of a
// meeting may pass through a node outside its regions. (A meeting no
// longer stored admits only those coming back: nothing to check.) Its
// verdict is applied inside live.Room.Join, so that a room opened for a
// refused joiner closes again.
func (s *session) checkRegion(st *live.Stored) {
	check := s.srv.opts.Regions
	if check == nil || st == nil {
		return
	}
	refusal, err := check(s.ctx, st.Record.Settings.Regions)
	switch {
	case err != nil:
		st.Region = fmt.Errorf("region check: %w", err) // refused as an internal error
	case refusal != "":
		st.Region = &live.Refusal{Code: wire.CodeRegionNotAllowed, Message: refusal}
	}
}

// regionsSettable refuses, from inside a meeting, regions that would put
// the meeting outside this node (it would have to end at once); checked
// before the room's lock is taken, since the organisation's regions are
// read from the store. nil (left out) changes nothing.
func (s *Server) regionsSettable(ctx context.Context, next *meeting.Regions) error {
	if s.opts.Regions == nil || next == nil {
		return nil
	}
	if err := next.Validate(); err != nil {
		return err
	}
	refusal, err := s.opts.Regions(ctx, next.Normalised())
	if err != nil {
		return err
	}
	if refusal != "" {
		return fmt.Errorf("%w: regions: %s", meeting.ErrBadSettings, refusal)
	}
	return nil
}

// EndOutsideRegions ends, for everyone in them, the live meetings this
// node may no longer hold after their regions or the organisation's
// changed through the API: refusal gives the sentence for a meeting's
// current settings ("" keeps it). It returns how many it ended. On a
// cluster it also closes the members relayed here through nodes outside
// their meeting's regions now, and tells the other nodes to do the same
// (entrycheck.go).
func (s *Server) EndOutsideRegions(ctx context.Context) int {
	s.endRelayedOutside(ctx, "")
	s.announceRegionsChanged()
	check := s.opts.Regions
	if check == nil {
		return 0
	}
	return s.hub.EndOutsideRegions(ctx, check)
}

// RegionRedirect is where to send someone who reached this node for a
// meeting (its own regions own) that this node may not hold: the public
// URL of the least-loaded live node in the meeting's regions that is not
// draining and announces one (cluster.Node.RedirectTarget), or "" when
// there is none (or no cluster), and the refusal stands alone. The URL is
// only ever a registered node's, never anything the request carried.
func (s *Server) RegionRedirect(ctx context.Context, own *meeting.Regions) string {
	cl := s.clusterLink()
	if cl == nil {
		return ""
	}
	allowed, named, err := cl.allowed(ctx, own)
	if err != nil {
		s.log.Warn("region redirect: allowed regions", "err", err)
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	info, ok, err := cl.node.RedirectTarget(ctx, allowed, named)
	if err != nil {
		s.log.Warn("region redirect: the cluster's nodes", "err", err)
		return ""
	}
	if !ok {
		return ""
	}
	return info.URL
}
