package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats.go/jetstream"
)

// placement is a meeting's entry in BucketPlacements (JSON).
type placement struct {
	// Node hosts the meeting.
	Node string `json:"node"`
	// Placed is when, by the placing node's clock; By is that node.
	Placed time.Time `json:"placed"`
	By     string    `json:"by"`
}

// markerTTL is how long the marker of a removed placement stays (so the
// bucket does not keep one for every meeting ever held).
const markerTTL = time.Minute

// placeAttempts bounds Place's compare-and-set retries: each lost race
// means another node placed the meeting, whose placement the next round
// normally takes.
const placeAttempts = 8

// Place returns the node that hosts the meeting id, whose allowed regions
// are allowed (named false: anywhere; see meeting.AllowedRegions): the
// node it is placed on if that node is alive and allowed (draining or
// not: a meeting stays where it is), else the least-loaded allowed node
// that is not draining, which it claims with a compare-and-set on the
// placement's revision, so that nodes placing the same meeting at once
// all return the same node. With no such node up, the error wraps
// ErrNoNode.
func (n *Node) Place(ctx context.Context, id meeting.ID, allowed meeting.Regions, named bool) (NodeInfo, error) {
	if p, err := meeting.ParseID(string(id)); err != nil || p != id {
		return NodeInfo{}, fmt.Errorf("cluster: place: %q is not a meeting ID", id)
	}
	key := string(id)
	may := func(info NodeInfo) bool { return meeting.RegionRefusal(info.Region, allowed, named) == "" }
	for range placeAttempts {
		// The placement before the registry: a placement refers to a
		// node that was in the registry before it was written, so a
		// registry read after it lists that node unless it is gone.
		var rev uint64
		var current placement
		e, err := n.placements.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return NodeInfo{}, fmt.Errorf("cluster: place: %w", err)
		default:
			rev = e.Revision()
			if json.Unmarshal(e.Value(), &current) != nil {
				current = placement{}
			}
		}
		nodes, err := n.Nodes(ctx)
		if err != nil {
			return NodeInfo{}, err
		}
		if rev != 0 {
			for _, info := range nodes {
				if info.ID == current.Node && may(info) {
					return info, nil
				}
			}
		}
		pick, ok := n.pick(nodes, may)
		if !ok {
			return NodeInfo{}, noNode(allowed, named, nodes)
		}
		body, _ := json.Marshal(placement{Node: pick.ID, Placed: time.Now().UTC(), By: n.opts.NodeID})
		if rev == 0 {
			_, err = n.placements.Create(ctx, key, body)
		} else {
			_, err = n.placements.Update(ctx, key, body, rev)
		}
		if err == nil {
			return pick, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return NodeInfo{}, fmt.Errorf("cluster: place: %w", err)
		}
		// Another node placed it first: take theirs in the next round.
	}
	return NodeInfo{}, fmt.Errorf("cluster: place %s: the placement kept changing under %d attempts", id, placeAttempts)
}

// leastLoaded picks, among the nodes that may hold the meeting and are not
// draining, the least loaded (Load.less; ties by ID).
func leastLoaded(nodes []NodeInfo, may func(NodeInfo) bool) (NodeInfo, bool) {
	var best NodeInfo
	found := false
	for _, info := range nodes { // sorted by ID: the first of equals wins
		if info.Draining || !may(info) {
			continue
		}
		if !found || info.Load.less(best.Load) {
			best, found = info, true
		}
	}
	return best, found
}

// noNode is ErrNoNode with where the meeting may be held and who is up.
func noNode(allowed meeting.Regions, named bool, nodes []NodeInfo) error {
	where := "anywhere"
	switch {
	case named && len(allowed) == 0:
		where = "in no region (its regions and the organisation's have none in common)"
	case named:
		where = "only in " + strings.Join(allowed, ", ")
	}
	up := make([]string, 0, len(nodes))
	for _, info := range nodes {
		s := info.ID + " in "
		if info.Region == "" {
			s += "no region"
		} else {
			s += info.Region
		}
		if info.Draining {
			s += ", draining"
		}
		up = append(up, s)
	}
	nodesUp := "none"
	if len(up) > 0 {
		nodesUp = strings.Join(up, "; ")
	}
	return fmt.Errorf("%w: the meeting may be held %s; nodes up: %s", ErrNoNode, where, nodesUp)
}

// Release forgets the meeting's placement when it ends here. A placement
// on another node (the meeting moved) is left alone.
func (n *Node) Release(ctx context.Context, id meeting.ID) error {
	if n.left() {
		return nil // the other nodes sweep a gone node's placements
	}
	e, err := n.placements.Get(ctx, string(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil
	}
	if err != nil {
		if n.left() {
			return nil // closed while releasing: as above
		}
		return fmt.Errorf("cluster: release: %w", err)
	}
	var p placement
	if json.Unmarshal(e.Value(), &p) == nil && p.Node != n.opts.NodeID {
		return nil
	}
	err = n.placements.Purge(ctx, string(id), jetstream.LastRevision(e.Revision()), jetstream.PurgeTTL(markerTTL))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !n.left() {
		return fmt.Errorf("cluster: release: %w", err)
	}
	return nil
}

// left reports whether the node has stopped (Close, or a test's halt):
// it no longer holds or releases placements.
func (n *Node) left() bool {
	select {
	case <-n.stop:
		return true
	default:
		return false
	}
}

// sweep removes placements whose node is gone, each only if unchanged
// since read, and reports how many.
func (n *Node) sweep(ctx context.Context) (int, error) {
	entries, err := n.readAll(ctx, n.placements) // before the registry, as in Place
	if err != nil {
		return 0, err
	}
	nodes, err := n.Nodes(ctx)
	if err != nil {
		return 0, err
	}
	live := make(map[string]bool, len(nodes))
	for _, info := range nodes {
		live[info.ID] = true
	}
	removed := 0
	for _, e := range entries {
		var p placement
		if json.Unmarshal(e.Value(), &p) == nil && live[p.Node] {
			continue
		}
		err := n.placements.Purge(ctx, e.Key(), jetstream.LastRevision(e.Revision()), jetstream.PurgeTTL(markerTTL))
		switch {
		case err == nil:
			removed++
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		default:
			return removed, err
		}
	}
	return removed, nil
}
