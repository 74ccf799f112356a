package sfu

import (
	"fmt"
	"log/slog"
	"sync"
)

// Router forwards media among the participants of one meeting.
type Router struct {
	sfu *SFU
	log *slog.Logger

	mu     sync.Mutex
	peers  map[string]*Peer
	tracks map[*UpTrack]struct{}
	closed bool
	// Relays with the meeting's other nodes, by node (relay.go); nil
	// until the first.
	relayOuts map[string]*RelayOut
	relayIns  map[string]*RelayIn
	// relayOn: the meeting's own node, which relays what it receives
	// from one node on to the others (relay.go, RelayOn).
	relayOn bool
	// flooded is told of a peer closed for flooding (flood.go).
	flooded func(p *Peer)
}

// NewRouter returns an empty router for one meeting.
func (s *SFU) NewRouter(meeting string) *Router {
	return &Router{
		sfu:    s,
		log:    s.log.With("meeting", meeting),
		peers:  make(map[string]*Peer),
		tracks: make(map[*UpTrack]struct{}),
	}
}

// AddPeer creates the participant's PeerConnection and subscribes it to
// every track already published. sig carries its negotiation messages.
func (r *Router) AddPeer(participant string, sig Signaller) (*Peer, error) {
	routes := &rtcpRoutes{}
	pc, err := r.sfu.newPeerConnectionWithRoutes(routes)
	if err != nil {
		return nil, fmt.Errorf("new peer connection for %s: %w", participant, err)
	}
	p := newPeer(r, participant, pc, sig)
	p.rtcp = routes
	p.out = newSRTPOut()
	existing, err := r.register(p)
	if err != nil {
		return nil, err
	}
	for _, up := range existing {
		p.subscribe(up)
	}
	return p, nil
}

// register enters a new peer in the router and returns the tracks
// already published; on failure it closes the peer's PeerConnection.
func (r *Router) register(p *Peer) ([]*UpTrack, error) {
	var err error
	r.mu.Lock()
	switch {
	case r.closed:
		err = ErrRouterClosed
	case r.peers[p.participant] != nil:
		err = ErrDuplicatePeer
	}
	if err != nil {
		r.mu.Unlock()
		_ = p.pc.Close()
		return nil, fmt.Errorf("add peer %s: %w", p.participant, err)
	}
	r.peers[p.participant] = p
	existing := r.tracksLocked(p)
	r.mu.Unlock()
	return existing, nil
}

// RemovePeer closes the participant's PeerConnection and stops forwarding
// its tracks to others.
func (r *Router) RemovePeer(participant string) { r.removePeer(participant, nil) }

// removePeer takes the participant's peer out of the router, closes it
// and unpublishes its tracks; with only set, only if only is still the
// participant's peer (never a newer one). It reports whether a peer was
// taken out.
func (r *Router) removePeer(participant string, only *Peer) bool {
	r.mu.Lock()
	p := r.peers[participant]
	if p == nil || (only != nil && p != only) {
		r.mu.Unlock()
		return false
	}
	delete(r.peers, participant)
	var own []*UpTrack
	for up := range r.tracks {
		if up.owner == p {
			own = append(own, up)
			delete(r.tracks, up)
		}
	}
	r.mu.Unlock()

	p.close()
	for _, up := range own {
		r.closeTrack(up)
	}
	r.peerLeft()
	return true
}

// Close removes every peer.
func (r *Router) Close() {
	r.mu.Lock()
	r.closed = true
	ids := make([]string, 0, len(r.peers))
	for id := range r.peers {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	for _, id := range ids {
		r.RemovePeer(id)
	}
	r.closeRelays()
}

// Tracks returns the tracks currently published, for tests and metrics.
func (r *Router) Tracks() []*UpTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tracksLocked(nil)
}

// tracksLocked lists published tracks not owned by except.
func (r *Router) tracksLocked(except *Peer) []*UpTrack {
	out := make([]*UpTrack, 0, len(r.tracks))
	for up := range r.tracks {
		if up.owner != except {
			out = append(out, up)
		}
	}
	return out
}

// publish starts forwarding a new track to every other peer.
func (r *Router) publish(up *UpTrack) {
	r.mu.Lock()
	if r.closed || (!up.relayed && r.peers[up.owner.participant] != up.owner) {
		r.mu.Unlock()
		r.closeTrack(up)
		return
	}
	r.tracks[up] = struct{}{}
	subscribers := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		if p != up.owner {
			subscribers = append(subscribers, p)
		}
	}
	outs := r.relayOutsFor(up)
	r.mu.Unlock()

	r.log.Debug("track published", "participant", up.owner.participant, "source", up.source)
	for _, p := range subscribers {
		p.subscribe(up)
	}
	for _, o := range outs {
		o.add(up)
	}
}

// unpublish stops forwarding a track. It is safe to call more than once.
func (r *Router) unpublish(up *UpTrack) {
	r.mu.Lock()
	delete(r.tracks, up)
	r.mu.Unlock()
	r.closeTrack(up)
}

func (r *Router) closeTrack(up *UpTrack) {
	for _, d := range up.close() {
		d.peer.unsubscribe(up)
	}
	r.unrelay(up)
}
