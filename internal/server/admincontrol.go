package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// controlWait bounds how long the API waits for the node holding a
// meeting (or, for the list, for every node) to answer.
const controlWait = 3 * time.Second

// clusterLive is the administrators' view of live meetings across the
// cluster (httpapi.ClusterLive): this node's meetings directly, those
// held on other nodes through a control request to their node
// (cluster/control.go). The administrator was authorised by the API; the
// other node acts on node credentials alone. It embeds the signal server,
// so that every method httpapi finds on its Live by a type assertion
// (EndOutsideRegions after a change of regions, RegionRedirect for the
// pre-join check, ...) is still there: a wrapper that forwarded only some
// of them silently turned the others off (a change of regions through the
// API ended nothing, and the pre-join check named no node to go to).
type clusterLive struct {
	*signal.Server
	s *Server
}

// local returns the meeting if it is live on this node.
func (l clusterLive) local(id meeting.ID) *signal.LiveMeeting {
	for _, lm := range l.s.signal.LiveMeetings() {
		if lm.ID == id {
			return &lm
		}
	}
	return nil
}

// holder returns the other node the meeting is placed on, "" if it is
// live here or placed nowhere.
func (l clusterLive) holder(ctx context.Context, id meeting.ID) (string, error) {
	if l.s.cluster == nil || l.local(id) != nil {
		return "", nil
	}
	node, err := l.s.cluster.Holder(ctx, id)
	if err != nil || node == l.s.cluster.ID() {
		return "", err
	}
	return node, nil
}

// ClusterMeetings lists the live meetings of every node in the registry,
// asking the others at once with a deadline; unanswered are the nodes
// that did not answer in time (their meetings are missing).
func (l clusterLive) ClusterMeetings(ctx context.Context) ([]signal.LiveMeeting, []string) {
	out := l.s.signal.LiveMeetings()
	if l.s.cluster == nil {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, controlWait)
	defer cancel()
	nodes, err := l.s.cluster.Nodes(ctx)
	if err != nil {
		return out, []string{"registry"}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var unanswered []string
	seen := map[meeting.ID]bool{}
	for _, lm := range out {
		seen[lm.ID] = true
	}
	for _, info := range nodes {
		if info.ID == l.s.cluster.ID() {
			continue
		}
		wg.Add(1)
		go func(node string) {
			defer wg.Done()
			reply, err := l.s.cluster.Control(ctx, node, cluster.ControlRequest{Op: cluster.ControlList})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				l.s.log.Warn("live meetings: a node did not answer", "node", node, "err", err)
				unanswered = append(unanswered, node)
				return
			}
			for _, m := range reply.Meetings {
				if seen[m.ID] { // held on two nodes for a moment: listed once
					continue
				}
				seen[m.ID] = true
				out = append(out, fromCluster(m))
			}
		}(info.ID)
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	sort.Strings(unanswered)
	return out, unanswered
}

// ClusterMeeting returns the meeting if it is live on this node or on
// the node it is placed on; nil if it is live nowhere. A holding node
// that does not answer is an error.
func (l clusterLive) ClusterMeeting(ctx context.Context, id meeting.ID) (*signal.LiveMeeting, error) {
	if lm := l.local(id); lm != nil {
		return lm, nil
	}
	reply, ok, err := l.ask(ctx, id, cluster.ControlRequest{Op: cluster.ControlGet, Meeting: id})
	if err != nil || !ok || !reply.Live || len(reply.Meetings) != 1 || reply.Meetings[0].ID != id {
		return nil, err
	}
	lm := fromCluster(reply.Meetings[0])
	return &lm, nil
}

// ClusterEnd ends the meeting where it is held; it reports whether it
// was live.
func (l clusterLive) ClusterEnd(ctx context.Context, id meeting.ID, message string) (bool, error) {
	if l.s.signal.EndMeeting(id, message) {
		return true, nil
	}
	reply, ok, err := l.ask(ctx, id, cluster.ControlRequest{Op: cluster.ControlEnd, Meeting: id, Message: message})
	return ok && reply.Live, err
}

// ClusterLock locks or unlocks the meeting where it is held; it reports
// whether it was live.
func (l clusterLive) ClusterLock(ctx context.Context, id meeting.ID, locked bool, reason, message string) (bool, error) {
	if l.s.signal.LockMeeting(id, locked, reason, message) {
		return true, nil
	}
	reply, ok, err := l.ask(ctx, id, cluster.ControlRequest{Op: cluster.ControlLock, Meeting: id, Locked: locked, Reason: reason, Message: message})
	return ok && reply.Live, err
}

// ClusterMove moves the meeting off the node holding it (this one or
// another) to target ("": placement chooses); with from set, only if it
// is held on the node from (else it is not live as far as this move
// goes). It returns the node it went to and whether it was live. With no
// node to move to, the error wraps cluster.ErrNoNode; a holding node that
// does not answer, cluster.ErrNodeUnreachable.
func (l clusterLive) ClusterMove(ctx context.Context, id meeting.ID, from, target string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, controlWait)
	defer cancel()
	if from != "" && (l.s.cluster == nil || from != l.s.cluster.ID()) && l.local(id) != nil {
		return "", false, nil // held here, not on from
	}
	if from == "" || (l.s.cluster != nil && from == l.s.cluster.ID()) {
		if node, live, err := l.s.signal.MoveMeeting(ctx, id, target); live || err != nil || from != "" {
			return node, live, err
		}
	}
	if from != "" {
		if node, err := l.holder(ctx, id); err != nil || node != from {
			return "", false, err
		}
	}
	reply, ok, err := l.ask(ctx, id, cluster.ControlRequest{Op: cluster.ControlMove, Meeting: id, Target: target})
	if err != nil || !ok {
		return "", false, err
	}
	if reply.NoNode != "" {
		return "", reply.Live, fmt.Errorf("%w: %s", cluster.ErrNoNode, reply.NoNode)
	}
	return reply.Node, reply.Live, nil
}

// ask sends req to the other node the meeting is placed on; ok is false
// if it is placed on no other node.
func (l clusterLive) ask(ctx context.Context, id meeting.ID, req cluster.ControlRequest) (cluster.ControlReply, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, controlWait)
	defer cancel()
	node, err := l.holder(ctx, id)
	if err != nil || node == "" {
		return cluster.ControlReply{}, false, err
	}
	reply, err := l.s.cluster.Control(ctx, node, req)
	if err != nil {
		return cluster.ControlReply{}, false, err
	}
	return reply, true, nil
}

// serveControl answers the control requests of other nodes' APIs about
// the meetings held here.
func (s *Server) serveControl(req cluster.ControlRequest) cluster.ControlReply {
	switch req.Op {
	case cluster.ControlList:
		var out []cluster.LiveMeeting
		for _, lm := range s.signal.LiveMeetings() {
			out = append(out, toCluster(lm))
		}
		return cluster.ControlReply{Meetings: out}
	case cluster.ControlGet:
		for _, lm := range s.signal.LiveMeetings() {
			if lm.ID == req.Meeting {
				return cluster.ControlReply{Live: true, Meetings: []cluster.LiveMeeting{toCluster(lm)}}
			}
		}
		return cluster.ControlReply{}
	case cluster.ControlEnd:
		live := s.signal.EndMeeting(req.Meeting, req.Message)
		s.log.Info("meeting ended at another node's request (an administrator's)", "meeting", req.Meeting, "live", live)
		return cluster.ControlReply{Live: live}
	case cluster.ControlLock:
		live := s.signal.LockMeeting(req.Meeting, req.Locked, req.Reason, req.Message)
		s.log.Info("meeting lock changed at another node's request (an administrator's)", "meeting", req.Meeting, "locked", req.Locked, "live", live)
		return cluster.ControlReply{Live: live}
	case cluster.ControlMove:
		ctx, cancel := context.WithTimeout(context.Background(), controlWait)
		defer cancel()
		node, live, err := s.signal.MoveMeeting(ctx, req.Meeting, req.Target)
		s.log.Info("meeting move at another node's request (an administrator's)", "meeting", req.Meeting, "to", node, "live", live, "err", err)
		switch {
		case errors.Is(err, cluster.ErrNoNode):
			return cluster.ControlReply{Live: live, NoNode: err.Error()}
		case err != nil:
			return cluster.ControlReply{Error: "move failed"}
		}
		return cluster.ControlReply{Live: live, Node: node}
	}
	return cluster.ControlReply{Error: "unknown operation"}
}

func toCluster(lm signal.LiveMeeting) cluster.LiveMeeting {
	return cluster.LiveMeeting{ID: lm.ID, Participants: lm.Participants, Waiting: lm.Waiting, BreakoutRooms: lm.BreakoutRooms, Locked: lm.Locked}
}

func fromCluster(m cluster.LiveMeeting) signal.LiveMeeting {
	return signal.LiveMeeting{ID: m.ID, Participants: m.Participants, Waiting: m.Waiting, BreakoutRooms: m.BreakoutRooms, Locked: m.Locked}
}
