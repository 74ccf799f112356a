package sfu

import (
	"context"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// AddPublisher adds a peer that only publishes: a media source outside
// the meeting's signalling (a WHIP client, internal/whip) that is never
// subscribed to anyone's tracks, so that its one offer and answer are the
// whole negotiation. ended is called, on its own goroutine, when the
// peer's transport fails or closes.
func (r *Router) AddPublisher(participant string, sig Signaller, ended func()) (*Peer, error) {
	// Routes as a participant's: its layers' RTCP handled where pion
	// decrypts it, and the streams its client makes pion open counted
	// and bounded (rtcpsink.go; unbounded before, review R3-4).
	routes := &rtcpRoutes{}
	pc, err := r.sfu.newPeerConnectionWithRoutes(routes)
	if err != nil {
		return nil, fmt.Errorf("new peer connection for %s: %w", participant, err)
	}
	p := newPeer(r, participant, pc, sig)
	p.publishOnly = true
	p.rtcp = routes
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("publisher connection state", "state", s.String())
		switch s {
		case webrtc.PeerConnectionStateConnected:
			p.connected.Store(true)
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			if ended != nil {
				go ended()
			}
		}
	})
	if _, err := r.register(p); err != nil {
		return nil, err
	}
	return p, nil
}

// GatheredAnswer waits until the peer has gathered its ICE candidates
// and returns its local description with them, for a client that takes
// no trickled candidates from the server (WHIP, RFC 9725 section 4.3.2).
// Call it after HandleOffer.
func (p *Peer) GatheredAnswer(ctx context.Context) (string, error) {
	select {
	case <-webrtc.GatheringCompletePromise(p.pc):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	desc := p.pc.LocalDescription()
	if desc == nil || desc.Type != webrtc.SDPTypeAnswer {
		return "", fmt.Errorf("%w: no local answer", ErrBadSDP)
	}
	return desc.SDP, nil
}
