package sfu

// A flood close (rtcpsink.go, maxRTPStreams) ends a peer whose client made
// pion open too many read streams. Closing its PeerConnection alone left
// the participant in the router, with a dead connection, and in its
// meeting, its client told nothing (found in review, R3-2): the peer is
// now taken out of its router as RemovePeer would, and its owner is told
// (OnPeerFlooded), to take the participant out and tell its client why.

// OnPeerFlooded sets f, told of each peer the router closes for flooding
// once it is out of the router (and only if it was still its
// participant's peer there: a late close of a peer that a reconnect
// replaced, or that left, tells nobody). f runs on the close's own
// goroutine with no lock of the SFU held; it may block and may call the
// router. The SFU knows nothing of meetings: the router's owner (a room,
// or a cluster's entry node) takes the participant out and tells its
// client. A callback on the router, not an interface on the peer's
// Signaller, so that the owner never wraps the Signaller (a wrapper hid
// the optional interfaces icewatch.go looks for, ICERestarter).
func (r *Router) OnPeerFlooded(f func(p *Peer)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flooded = f
}

// closeFlooded ends p for flooding: out of the router if it is still
// its participant's peer there (never a newer one's), closed, its
// tracks unpublished, and the router's owner told (OnPeerFlooded). A
// viewer's peer is in no router's peers: it is closed, and its
// PeerConnection's close ends the viewer (its ended callback).
func (r *Router) closeFlooded(p *Peer) {
	if !r.removePeer(p.participant, p) {
		p.close()
		return
	}
	r.mu.Lock()
	f := r.flooded
	r.mu.Unlock()
	if f != nil {
		f(p)
	}
}
