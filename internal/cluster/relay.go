package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Inter-node signalling: a participant whose socket reaches one node (the
// entry node) while their meeting is placed on another (the meeting's
// node) is relayed. The entry node asks the meeting's node to take the
// member (a request on JoinSubject), then both exchange that member's
// messages on member subjects, each node subscribing to its own:
//
//	kaigi.node.<node>.join              request: a relayed join (JSON), reply: its outcome
//	kaigi.node.<node>.member.<member>   one message of a relayed member, to <node>
//
// The entry node publishes the client's messages (JSON, as the browser
// sent them) to the meeting node's member subject; the meeting node
// publishes the server's messages (JSON, as the browser gets them) to the
// entry node's. A message with the header HeaderClose (from the meeting
// node) ends the socket with that WebSocket status; one with HeaderGone
// (from the entry node) says the socket ended. One with HeaderMedia is the
// nodes' own about the member's media, never a client's or the server's
// message to it: the meeting node tells the entry node to open the
// member's SFU peer there (the member's PeerConnection is on the entry
// node) and what it must block (signal/entry.go). Nodes trust each other: whoever
// may publish on these subjects can speak for any participant.

// Headers of member messages.
const (
	// HeaderClose: the meeting node ends the member's socket with this
	// WebSocket close status (decimal); no body.
	HeaderClose = "Kaigi-Close"
	// HeaderGone: the entry node's socket ended; no body.
	HeaderGone = "Kaigi-Gone"
	// HeaderMedia: the body is a node's message about the member's
	// media (JSON), not a client's or the server's message.
	HeaderMedia = "Kaigi-Media"
	// HeaderFlooded: the entry node closed the member for flooding its
	// media connection; no body.
	HeaderFlooded = "Kaigi-Flooded"
)

// JoinSubject is where a node takes relayed joins.
func JoinSubject(node string) string { return "kaigi.node." + node + ".join" }

// MemberSubject is where a node takes a relayed member's messages.
func MemberSubject(node, member string) string {
	return "kaigi.node." + node + ".member." + member
}

// NewMemberID returns a random member ID for a relayed socket.
func NewMemberID() string { return randomHex(16) }

// ValidMemberID reports whether s could be a member ID (NewMemberID).
func ValidMemberID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Message is one message of a relayed member.
type Message struct {
	// Data is the JSON message (empty with Close or Gone).
	Data []byte
	// Close, if not zero, is the WebSocket status the socket closes with.
	Close int
	// Gone: the entry node's socket ended.
	Gone bool
	// Flooded: the entry node closed the member's socket because its
	// client flooded its media connection (made-up SSRCs); the meeting's
	// node takes the member out as removed. Set by nodes only: no client
	// message becomes it.
	Flooded bool
	// Media: Data is a node's message about the member's media
	// (HeaderMedia), not the member's.
	Media bool
}

// ErrNodeUnreachable: the node did not answer (it is gone, or NATS is
// out of reach).
var ErrNodeUnreachable = errors.New("cluster: the node did not answer")

// Request sends a relayed join to node and returns its reply.
func (n *Node) Request(ctx context.Context, node string, data []byte) ([]byte, error) {
	msg, err := n.nc.RequestWithContext(ctx, JoinSubject(node), data)
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s: %v", ErrNodeUnreachable, node, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: relay a join to %s: %w", node, err)
	}
	return msg.Data, nil
}

// HandleJoins serves the relayed joins sent to this node: handle gets each
// request and replies (from any goroutine, once) with respond. It returns
// a function that stops serving.
func (n *Node) HandleJoins(handle func(data []byte, respond func([]byte))) (func(), error) {
	sub, err := n.nc.Subscribe(JoinSubject(n.opts.NodeID), func(m *nats.Msg) {
		handle(m.Data, func(b []byte) {
			if err := m.Respond(b); err != nil {
				n.log.Warn("cluster: reply to a relayed join", "err", err)
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: serve relayed joins: %w", err)
	}
	if err := n.nc.Flush(); err != nil { // the servers know it on return
		sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: serve relayed joins: %w", err)
	}
	return func() { sub.Unsubscribe() }, nil
}

// Publish sends one member message to node.
func (n *Node) Publish(node, member string, m Message) error {
	msg := nats.NewMsg(MemberSubject(node, member))
	msg.Data = m.Data
	switch {
	case m.Close != 0:
		msg.Header.Set(HeaderClose, strconv.Itoa(m.Close))
	case m.Gone:
		msg.Header.Set(HeaderGone, "1")
	case m.Media:
		msg.Header.Set(HeaderMedia, "1")
	case m.Flooded:
		msg.Header.Set(HeaderFlooded, "1")
	}
	return n.nc.PublishMsg(msg)
}

// Subscribe takes this node's messages for member, in the order they were
// published, handing each to handle on one goroutine (handle must not
// block for long). It returns a function that stops them. The
// subscription reaches the servers before anything this node publishes
// afterwards (one connection, in order), so a peer that hears from this
// node after it subscribed can publish to it.
func (n *Node) Subscribe(member string, handle func(Message)) (func(), error) {
	sub, err := n.nc.Subscribe(MemberSubject(n.opts.NodeID, member), func(m *nats.Msg) {
		msg := Message{Data: m.Data}
		if m.Header != nil {
			if c := m.Header.Get(HeaderClose); c != "" {
				msg.Close, _ = strconv.Atoi(c)
				if msg.Close == 0 {
					msg.Close = 1008
				}
			}
			msg.Gone = m.Header.Get(HeaderGone) != ""
			msg.Media = m.Header.Get(HeaderMedia) != ""
			msg.Flooded = m.Header.Get(HeaderFlooded) != ""
		}
		handle(msg)
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: subscribe to a relayed member: %w", err)
	}
	// A member's messages are small and few; a slow handler must not
	// make NATS drop them silently: generous limits, then the handler's
	// own bounded queue decides.
	sub.SetPendingLimits(4096, 64<<20)
	return func() { sub.Unsubscribe() }, nil
}

// WatchGone calls gone with the ID of each node that leaves the registry
// (deregistered or expired) while ctx lives, checking every heartbeat.
// The node itself is never reported.
func (n *Node) WatchGone(ctx context.Context, gone func(id string)) {
	seen := map[string]string{} // id → instance
	t := time.NewTicker(n.opts.Heartbeat)
	defer t.Stop()
	for {
		// A listing slowed by load is waited for (up to the TTL) rather
		// than dropped: a dropped one delays noticing by a heartbeat.
		rctx, cancel := context.WithTimeout(ctx, n.opts.NodeTTL)
		nodes, err := n.Nodes(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			n.log.Debug("cluster: watching for nodes that leave: listing failed", "err", err)
		}
		if err == nil {
			now := make(map[string]string, len(nodes))
			for _, info := range nodes {
				now[info.ID] = info.Instance
			}
			for id, inst := range seen {
				if id == n.opts.NodeID {
					continue
				}
				if cur, ok := now[id]; !ok || cur != inst {
					gone(id) // gone, or restarted: its relayed members are lost either way
				}
			}
			seen = now
			if n.watched != nil {
				n.watched(nodes)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// AccountsEndedSubject carries, to every node, an account whose
// participation was ended on one (signed out everywhere, suspended,
// deleted): each ends it in its own live meetings.
const AccountsEndedSubject = "kaigi.accounts.ended"

// Broadcast publishes data on subject, for every node.
func (n *Node) Broadcast(subject string, data []byte) error {
	return n.nc.Publish(subject, data)
}

// HandleBroadcasts hands each message published on subject (by any node,
// this one included) to handle, one at a time. It returns a function that
// stops them.
func (n *Node) HandleBroadcasts(subject string, handle func(data []byte)) (func(), error) {
	sub, err := n.nc.Subscribe(subject, func(m *nats.Msg) { handle(m.Data) })
	if err != nil {
		return nil, fmt.Errorf("cluster: subscribe to %s: %w", subject, err)
	}
	if err := n.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: subscribe to %s: %w", subject, err)
	}
	return func() { sub.Unsubscribe() }, nil
}

// ErrPlacedElsewhere is Claim's error for a meeting placed on another
// node.
var ErrPlacedElsewhere = errors.New("cluster: the meeting is placed on another node")

// Claim places the meeting on this node if it is placed nowhere: a room
// opened here just as the meeting's placement was released (its previous
// room had emptied) claims it back. A placement on this node is left as
// it is; one on another node is ErrPlacedElsewhere.
func (n *Node) Claim(ctx context.Context, id meeting.ID) error {
	body, _ := json.Marshal(placement{Node: n.opts.NodeID, Placed: time.Now().UTC(), By: n.opts.NodeID})
	_, err := n.placements.Create(ctx, string(id), body)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("cluster: claim: %w", err)
	}
	e, err := n.placements.Get(ctx, string(id))
	if err != nil {
		return fmt.Errorf("cluster: claim: %w", err)
	}
	var p placement
	if json.Unmarshal(e.Value(), &p) == nil && p.Node == n.opts.NodeID {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrPlacedElsewhere, p.Node)
}

// Halt stops the node as a crash would: no more heartbeats, no
// deregistration (the record expires after the node TTL), the connection
// closed. For tests that kill a node in-process.
func (n *Node) Halt() { n.halt() }
