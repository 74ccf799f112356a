package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Relays: cascading a meeting's media between the nodes of a cluster.
//
// A meeting with participants on several nodes has a Router on each. A
// node relays the tracks its own participants publish to every other
// node of the meeting that asks for them, once per node pair and track
// whatever the number of subscribers there: the publishing node's
// RelayOut is one PeerConnection to the other node, with one sending
// transceiver per layer of each published track, and the other node's
// RelayIn is its far end, which publishes what arrives in that node's
// Router as tracks like any other (relayed UpTracks, carrying their
// publisher's participant ID and source). Each direction between two
// nodes is its own PeerConnection, offered only by the sending node, so
// offers never cross.
//
// The relays of a meeting form a star around the meeting's node, whose
// Router is marked with RelayOn: it relays the tracks it receives from
// one node on to every other node it relays to, never back to the node
// they came from; any other node's Router never relays a relayed track
// on. A track therefore crosses at most two relays (entry node, meeting
// node, other entry node) and never loops.
//
// What crosses is the RTP the publisher sent: payload, sequence numbers,
// timestamps and marker unchanged, so end-to-end encrypted frames pass
// byte for byte; only the SSRC and payload type are the relay
// connection's own, and the audio level extension is carried under its
// negotiated ID. Every simulcast layer the publisher sends is relayed
// (this slice does not yet relay only the layers the other node's
// subscribers want), each on its own transceiver and SSRC, named by the
// track's ID (see relayTrackID); the far node's subscribers choose among
// them as among a local publisher's layers.
//
// Feedback: the far node answers its subscribers' NACKs from its own
// packet cache of the relayed layer; what it missed itself, its NACK
// generator asks the publishing node for, which answers from its cache
// (each packet at most maxResends times). A subscriber's PLI becomes the
// far node's throttled key-frame request on the relay, which the
// publishing node turns into its own throttled request to the publisher.
//
// Negotiation goes through a RelaySignaller that the cluster implements
// between the two nodes. Descriptions are complete, candidates included
// (nothing trickles): a node gathers its host candidates at once.

// RelaySignaller carries one end of a relay's negotiation to the other
// node. Its methods must not block.
type RelaySignaller interface {
	// Description sends a complete session description: an offer from
	// the sending end (RelayOut), an answer from the receiving end
	// (RelayIn).
	Description(sdp string)
	// Closed tells the other end that this end has gone.
	Closed()
}

// RelayGuard is a RelayIn's signaller that also says whose relayed tracks
// the receiving node takes: a track is published in the router only if
// AcceptRelayed says yes for its publisher's participant ID (the stream
// ID of its msid), asked before its first layer is published, and it is
// ended once RecheckRelayed finds the answer has become no. The meeting's
// node says yes only for members relayed through the sending node (their
// media there): another node's word for whose media it sends is not
// taken. A signaller that is not a RelayGuard accepts every track. It
// must not block, nor call back into the relay.
type RelayGuard interface {
	RelaySignaller
	AcceptRelayed(participant string) bool
}

// Errors of relays, beside the package's others.
var (
	// ErrRelayClosed means the relay has been closed.
	ErrRelayClosed = errors.New("relay closed")
	// ErrDuplicateRelay means the router already relays with that node in
	// that direction.
	ErrDuplicateRelay = errors.New("already relaying with that node")
)

// maxRelayMLines bounds the media sections of a relay's offer, as
// maxClientMLines does a client's: each becomes a receiver on the far
// node, and the offer must fit in maxSDPBytes (about 600 bytes a
// section), which NATS's default 1 MiB message carries. A camera with
// three layers and a microphone take four. An ended track's sections
// carry the next tracks of their kind (RelayOut.addLocked), so a relay
// has as many as the most tracks it carried at once, whatever the churn.
// A variable for tests.
var maxRelayMLines = 1500

// relayTrackID names one relayed layer in a relay's session description
// (its msid's track ID; the stream ID is the publisher's participant ID):
// source, RID and the relay's own number for the track, so that a track
// published again under the same source is not taken for the one it
// replaces. A microphone's is "microphone..7", a camera's layer "h" is
// "camera.h.8".
func relayTrackID(source Source, rid string, n uint64) string {
	return string(source) + "." + rid + "." + strconv.FormatUint(n, 10)
}

// parseRelayTrackID reads what relayTrackID wrote.
func parseRelayTrackID(id string) (source Source, rid string, n uint64, ok bool) {
	parts := strings.Split(id, ".")
	if len(parts) != 3 {
		return "", "", 0, false
	}
	n, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return "", "", 0, false
	}
	return Source(parts[0]), parts[1], n, true
}

// layerRID is the RID a layer of a track is relayed under: "" for a track
// without simulcast, else the layer's own.
func layerRID(simulcast bool, i int) string {
	if !simulcast {
		return ""
	}
	return [maxLayers]string{"q", "h", "f"}[i]
}

// bindCodec finds the codec want among those a relay's sender was
// negotiated with.
func bindCodec(ctx webrtc.TrackLocalContext, want webrtc.RTPCodecParameters) (*binding, webrtc.RTPCodecParameters, bool) {
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		b := &binding{
			ssrc:        uint32(ctx.SSRC()),
			payloadType: uint8(c.PayloadType),
			writer:      ctx.WriteStream(),
		}
		for _, ext := range ctx.HeaderExtensions() {
			if ext.URI == audioLevelURI {
				b.audioLevelID = uint8(ext.ID)
			}
		}
		return b, c, true
	}
	return nil, webrtc.RTPCodecParameters{}, false
}

// checkRelayOffer refuses a relay's offer larger than a node sends,
// before anything parses it.
func checkRelayOffer(desc string) error {
	if len(desc) > maxSDPBytes {
		return fmt.Errorf("%w: relay offer of %d bytes, more than %d", ErrBadSDP, len(desc), maxSDPBytes)
	}
	if n := mediaSections(desc); n > maxRelayMLines {
		return fmt.Errorf("%w: relay offer of %d media sections, more than %d", ErrBadSDP, n, maxRelayMLines)
	}
	return nil
}

// relayConn opens a relay's PeerConnection; its failure, or its closing
// from the other end (DTLS close), closes the relay (closeRelay), so that
// the cluster learns of it (RelaySignaller.Closed).
func (r *Router) relayConn(log *slog.Logger, closeRelay func()) (*webrtc.PeerConnection, error) {
	pc, err := r.sfu.newPeerConnection()
	if err != nil {
		return nil, err
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		log.Debug("relay connection state", "state", s.String())
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed {
			go closeRelay()
		}
	})
	return pc, nil
}

// pion closes a relay's PeerConnection itself when the other node's DTLS
// close arrives, and the relay learns of it (closeRelay, from the
// connection's state change) a moment later, on another goroutine. A
// description that arrives meanwhile finds the connection closed: the
// relay is ending, and says so (ErrRelayClosed, as it would a moment
// later), not that the description was bad or out of turn.

// pcClosed reports that pion has closed a relay's connection.
func pcClosed(pc *webrtc.PeerConnection) bool {
	return pc.SignalingState() == webrtc.SignalingStateClosed || pc.ConnectionState() == webrtc.PeerConnectionStateClosed
}

// refusedSDP is the error for a relay description pion refused; pion
// refuses any once its Close has begun, before its states say closed.
func refusedSDP(pc *webrtc.PeerConnection, what string, err error) error {
	if errors.Is(err, webrtc.ErrConnectionClosed) || pcClosed(pc) {
		return ErrRelayClosed
	}
	return fmt.Errorf("%w: %s%v", ErrBadSDP, what, err)
}

// addRelay enters a relay with node in one of the router's maps of them,
// unless the router has closed or already has one there.
func addRelay[T comparable](r *Router, relays *map[string]T, node string, relay T) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var none T
	switch {
	case r.closed:
		return ErrRouterClosed
	case (*relays)[node] != none:
		return ErrDuplicateRelay
	}
	if *relays == nil {
		*relays = make(map[string]T)
	}
	(*relays)[node] = relay
	return nil
}

// RelayOn marks the router as the meeting node's: tracks relayed in from
// one node are relayed on to the others (see above). A router of any
// other node must not be marked, or two such nodes would relay each
// other's tracks back and forth. It also keeps the relays coming in open
// while the node has no participant of its own: the meeting's node may
// hold none while its entry nodes do. Marking a marked router does
// nothing.
func (r *Router) RelayOn() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.relayOn = true
}

// relaysTo reports whether the track goes out on the relay to node: a
// track of this node's own participants goes to every node; a relayed one
// only from the meeting's node (RelayOn), and never back to the node it
// came from. Called with r.mu held.
func (r *Router) relaysTo(up *UpTrack, node string) bool {
	return !up.relayed || (r.relayOn && up.from != node)
}

// relayOutsFor lists the relays a newly published track goes out on
// (relaysTo). Called with r.mu held.
func (r *Router) relayOutsFor(up *UpTrack) []*RelayOut {
	if len(r.relayOuts) == 0 || (up.relayed && !r.relayOn) {
		return nil
	}
	outs := make([]*RelayOut, 0, len(r.relayOuts))
	for n, o := range r.relayOuts {
		if r.relaysTo(up, n) {
			outs = append(outs, o)
		}
	}
	return outs
}

// unrelay stops relaying a track that closed.
func (r *Router) unrelay(up *UpTrack) {
	r.mu.Lock()
	outs := r.relayOutsFor(up)
	r.mu.Unlock()
	for _, o := range outs {
		o.remove(up)
	}
}

// peerLeft closes the relays coming in once the node has no participant
// of the meeting left to receive them.
func (r *Router) peerLeft() {
	r.mu.Lock()
	if len(r.peers) > 0 || len(r.relayIns) == 0 || r.relayOn {
		r.mu.Unlock()
		return
	}
	ins := make([]*RelayIn, 0, len(r.relayIns))
	for _, in := range r.relayIns {
		ins = append(ins, in)
	}
	r.mu.Unlock()
	for _, in := range ins {
		in.Close()
	}
}

// closeRelays closes every relay, in and out.
func (r *Router) closeRelays() {
	r.mu.Lock()
	outs := make([]*RelayOut, 0, len(r.relayOuts))
	for _, o := range r.relayOuts {
		outs = append(outs, o)
	}
	ins := make([]*RelayIn, 0, len(r.relayIns))
	for _, in := range r.relayIns {
		ins = append(ins, in)
	}
	r.mu.Unlock()
	for _, o := range outs {
		o.Close()
	}
	for _, in := range ins {
		in.Close()
	}
}

// RelayNodes lists the nodes this router relays its tracks to and those
// it receives relayed tracks from, for tests and metrics.
func (r *Router) RelayNodes() (to, from []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for n := range r.relayOuts {
		to = append(to, n)
	}
	for n := range r.relayIns {
		from = append(from, n)
	}
	return to, from
}

// Connected reports whether the relay's connection is made (ICE and
// DTLS): both nodes took the other's description, so the relay is up.
func (o *RelayOut) Connected() bool {
	return o.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

// Connected reports whether the relay's connection is made (ICE and
// DTLS): both nodes took the other's description, so the relay is up.
func (in *RelayIn) Connected() bool {
	return in.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}
