package cluster

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Media relays between nodes (cascading): when a meeting has participants
// on several nodes, each node relays the tracks its own participants
// publish to each other node of the meeting that asks, over a WebRTC
// connection between the two nodes' SFUs (internal/sfu relay.go). The
// cluster carries those connections' negotiation, each node on its own
// subject:
//
//	kaigi.node.<node>.relay   a relay message (JSON RelayMessage) to <node>
//
// A node that wants a meeting's media from another sends it "want"; that
// node's sending end offers ("offer", a complete session description),
// the asking node answers ("answer"); either end's going is "closed_out"
// (the sending end, to the receiving node) or "closed_in" (the receiving
// end, to the sending node). "ready" asks the other node to send "want"
// in turn: this node has a router for the meeting whose tracks it should
// ask for (an entry node to the meeting's node). Nodes trust each other here as with relayed
// members: whoever may publish on these subjects can ask for any
// meeting's media and offer any tracks in its name.

// Kinds of relay message.
const (
	RelayWant      = "want"
	RelayOffer     = "offer"
	RelayAnswer    = "answer"
	RelayClosedOut = "closed_out"
	RelayClosedIn  = "closed_in"
	RelayReady     = "ready"
)

// RelayMessage is one message of a media relay between two nodes.
type RelayMessage struct {
	Meeting string `json:"meeting"`
	// From is the node that sent it (set by SendRelay).
	From string `json:"from"`
	Kind string `json:"kind"`
	// Relay names the relay the message is about: chosen by the
	// receiving node in its "want", carried by every later message about
	// that relay (none in "ready").
	Relay string `json:"relay,omitempty"`
	// SDP is an offer's or answer's complete session description.
	SDP string `json:"sdp,omitempty"`
}

// maxRelayMessage bounds a relay message: a session description of the
// most media sections the SFU accepts from a node (about 1 MiB) and the
// envelope.
const maxRelayMessage = 1<<20 + 4096

// ErrBadRelayMessage is HandleRelays' reason for dropping a message.
var ErrBadRelayMessage = errors.New("cluster: bad relay message")

// RelaySubject is where a node takes relay messages.
func RelaySubject(node string) string { return "kaigi.node." + node + ".relay" }

// SendRelay sends a relay message to node, from this node.
func (n *Node) SendRelay(node string, m RelayMessage) error {
	m.From = n.opts.NodeID
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cluster: relay message: %w", err)
	}
	if err := n.nc.Publish(RelaySubject(node), body); err != nil {
		return fmt.Errorf("cluster: relay message to %s: %w", node, err)
	}
	return nil
}

// HandleRelays hands each relay message sent to this node to handle, one
// at a time and in the order each node sent them (handle must not block
// for long). Messages that do not parse, or that name no meeting, node or
// known kind, are dropped and logged. It returns a function that stops
// them.
func (n *Node) HandleRelays(handle func(RelayMessage)) (func(), error) {
	sub, err := n.nc.Subscribe(RelaySubject(n.opts.NodeID), func(msg *nats.Msg) {
		m, err := parseRelayMessage(msg.Data)
		if err != nil {
			n.log.Warn("cluster: dropping a relay message", "err", err)
			return
		}
		handle(m)
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: serve relays: %w", err)
	}
	sub.SetPendingLimits(4096, 64<<20)
	if err := n.nc.Flush(); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: serve relays: %w", err)
	}
	return func() { sub.Unsubscribe() }, nil
}

func parseRelayMessage(data []byte) (RelayMessage, error) {
	var m RelayMessage
	if len(data) > maxRelayMessage {
		return m, fmt.Errorf("%w: %d bytes", ErrBadRelayMessage, len(data))
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%w: %v", ErrBadRelayMessage, err)
	}
	switch {
	case m.Meeting == "" || m.From == "":
		return m, fmt.Errorf("%w: no meeting or node", ErrBadRelayMessage)
	case m.Kind != RelayWant && m.Kind != RelayOffer && m.Kind != RelayAnswer && m.Kind != RelayClosedOut && m.Kind != RelayClosedIn && m.Kind != RelayReady:
		return m, fmt.Errorf("%w: kind %q", ErrBadRelayMessage, m.Kind)
	}
	return m, nil
}
