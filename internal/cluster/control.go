package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Administrators' control of live meetings across nodes: an
// administrator's request (list the live meetings, end one, lock or
// unlock one) reaches any node's API, which authorises it and writes the
// audit entry; the meeting itself is held by one node (its placement), so
// the API node asks that node, with a reply, on its control subject:
//
//	kaigi.node.<node>.control   request: a ControlRequest (JSON), reply: a ControlReply (JSON)
//
// The receiving node acts on node credentials alone (whoever may publish
// on kaigi.node.> is a node): it neither sees nor checks the
// administrator, who was checked by the API node. Requests over
// MaxControlRequest bytes or that do not parse are answered with an
// error, never acted on.

// ControlSubject is where a node takes control requests about the
// meetings it holds.
func ControlSubject(node string) string { return "kaigi.node." + node + ".control" }

// MaxControlRequest bounds a control request: an ID, a flag and two
// strings the API bounded (a reason of at most 500 characters, in the
// message too: under 7 kB even with every character escaped in JSON).
const MaxControlRequest = 16 << 10

// Control operations.
const (
	ControlList = "list" // the node's live meetings
	ControlGet  = "get"  // one meeting, if live here
	ControlEnd  = "end"  // end it for everyone, telling them Message
	ControlLock = "lock" // lock or unlock it (Locked), telling them Reason and Message
	// ControlMove: move it to the node Target ("": the least-loaded other
	// node that may hold it), its members told Message and resuming there
	// (move.go).
	ControlMove = "move"
)

// ControlRequest is one control request to the node holding a meeting.
type ControlRequest struct {
	Op      string     `json:"op"`
	Meeting meeting.ID `json:"meeting,omitempty"`
	Locked  bool       `json:"locked,omitempty"`
	Reason  string     `json:"reason,omitempty"`
	Message string     `json:"message,omitempty"`
	Target  string     `json:"target,omitempty"`
}

// LiveMeeting is a live meeting's counts as a node reports them (as
// live.LiveMeeting, which this package does not import).
type LiveMeeting struct {
	ID            meeting.ID `json:"id"`
	Participants  int        `json:"participants"`
	Waiting       int        `json:"waiting"`
	BreakoutRooms int        `json:"breakoutRooms"`
	Locked        bool       `json:"locked"`
}

// ControlReply is a node's answer: whether the meeting was live there
// (get, end, lock), the meetings (list, or get's one), or an error.
type ControlReply struct {
	Live     bool          `json:"live,omitempty"`
	Meetings []LiveMeeting `json:"meetings,omitempty"`
	Error    string        `json:"error,omitempty"`
	// Node is where a moved meeting went; NoNode, why it could not move
	// (no other node that may hold it is up).
	Node   string `json:"node,omitempty"`
	NoNode string `json:"noNode,omitempty"`
}

// Valid reports whether the request is one a node acts on.
func (r ControlRequest) Valid() bool {
	switch r.Op {
	case ControlList:
		return true
	case ControlGet, ControlEnd, ControlLock, ControlMove:
		id, err := meeting.ParseID(string(r.Meeting))
		return err == nil && id == r.Meeting && len(r.Reason) <= 2000 && len(r.Message) <= 4000 &&
			len(r.Target) <= 128 && (r.Target == "" || r.Op == ControlMove)
	}
	return false
}

// Control sends a control request to node and returns its reply. A node
// that does not answer within ctx (gone, or NATS out of reach) is
// ErrNodeUnreachable; a reply with an error is an error.
func (n *Node) Control(ctx context.Context, node string, req ControlRequest) (ControlReply, error) {
	data, _ := json.Marshal(req)
	msg, err := n.nc.RequestWithContext(ctx, ControlSubject(node), data)
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		return ControlReply{}, fmt.Errorf("%w: %s: %v", ErrNodeUnreachable, node, err)
	}
	if err != nil {
		return ControlReply{}, fmt.Errorf("cluster: control request to %s: %w", node, err)
	}
	var reply ControlReply
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return ControlReply{}, fmt.Errorf("cluster: control reply from %s: %w", node, err)
	}
	if reply.Error != "" {
		return ControlReply{}, fmt.Errorf("cluster: control request to %s: %s", node, reply.Error)
	}
	return reply, nil
}

// HandleControl serves the control requests sent to this node: handle
// gets each valid request (one at a time) and returns the reply. Requests
// too large or not valid are answered with an error. It returns a
// function that stops serving.
func (n *Node) HandleControl(handle func(ControlRequest) ControlReply) (func(), error) {
	sub, err := n.nc.Subscribe(ControlSubject(n.opts.NodeID), func(m *nats.Msg) {
		var req ControlRequest
		var reply ControlReply
		if len(m.Data) > MaxControlRequest || json.Unmarshal(m.Data, &req) != nil || !req.Valid() {
			reply.Error = "bad control request"
		} else {
			reply = handle(req)
		}
		b, _ := json.Marshal(reply)
		if err := m.Respond(b); err != nil {
			n.log.Warn("cluster: reply to a control request", "err", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: serve control requests: %w", err)
	}
	if err := n.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: serve control requests: %w", err)
	}
	return func() { sub.Unsubscribe() }, nil
}

// Holder returns the node the meeting is placed on, or "" if it is
// placed nowhere (nobody is in it on any node).
func (n *Node) Holder(ctx context.Context, id meeting.ID) (string, error) {
	e, err := n.placements.Get(ctx, string(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cluster: look up a placement: %w", err)
	}
	var p placement
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return "", fmt.Errorf("cluster: look up a placement: %w", err)
	}
	return p.Node, nil
}
