package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotPlacedHere: a move was asked of a node the meeting is not placed
// on (it moved, ended, or another node holds it).
var ErrNotPlacedHere = errors.New("cluster: the meeting is not placed on this node")

// MoveTo moves the placement of meeting id from this node to target, or,
// with target "", to the least-loaded node other than this one that may
// hold it (allowed, named as in Place) and is not draining. The target
// must be up, allowed and not draining. The placement changes by a
// compare-and-set on the revision that names this node, so that a move
// racing another placement change (the meeting ended here and was placed
// again, a sweep) cannot leave two rooms: it fails with
// ErrNotPlacedHere. With no node to move to, the error wraps ErrNoNode.
func (n *Node) MoveTo(ctx context.Context, id meeting.ID, target string, allowed meeting.Regions, named bool) (NodeInfo, error) {
	e, err := n.placements.Get(ctx, string(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return NodeInfo{}, ErrNotPlacedHere
	}
	if err != nil {
		return NodeInfo{}, fmt.Errorf("cluster: move: %w", err)
	}
	var current placement
	if json.Unmarshal(e.Value(), &current) != nil || current.Node != n.opts.NodeID {
		return NodeInfo{}, ErrNotPlacedHere
	}
	nodes, err := n.Nodes(ctx)
	if err != nil {
		return NodeInfo{}, err
	}
	may := func(info NodeInfo) bool {
		return info.ID != n.opts.NodeID && (target == "" || info.ID == target) &&
			meeting.RegionRefusal(info.Region, allowed, named) == ""
	}
	pick, ok := n.pick(nodes, may)
	if !ok {
		if target != "" {
			return NodeInfo{}, fmt.Errorf("%w: node %q is not up, is draining, is this node, or may not hold the meeting; %v", ErrNoNode, target, noNode(allowed, named, nodes))
		}
		return NodeInfo{}, fmt.Errorf("%w: no other node; %v", ErrNoNode, noNode(allowed, named, nodes))
	}
	body, _ := json.Marshal(placement{Node: pick.ID, Placed: time.Now().UTC(), By: n.opts.NodeID})
	if _, err := n.placements.Update(ctx, string(id), body, e.Revision()); err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			return NodeInfo{}, ErrNotPlacedHere
		}
		return NodeInfo{}, fmt.Errorf("cluster: move: %w", err)
	}
	return pick, nil
}
