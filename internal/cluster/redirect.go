package cluster

import (
	"context"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// RedirectTarget picks the node a participant who reached this node, which
// may not hold their meeting, is sent to: among the live nodes that may
// hold a meeting whose allowed regions are allowed (named false:
// anywhere), are not draining, announce a URL (cluster.public_url) and are
// not this node, the least loaded, as placement chooses. ok is false when
// there is none: the participant is refused as before.
func (n *Node) RedirectTarget(ctx context.Context, allowed meeting.Regions, named bool) (info NodeInfo, ok bool, err error) {
	nodes, err := n.Nodes(ctx)
	if err != nil {
		return NodeInfo{}, false, err
	}
	info, ok = n.pick(nodes, func(i NodeInfo) bool {
		return i.URL != "" && i.ID != n.opts.NodeID && meeting.RegionRefusal(i.Region, allowed, named) == ""
	})
	return info, ok, nil
}
