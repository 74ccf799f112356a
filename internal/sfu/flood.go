package sfu

// A flood close (rtcpsink.go, maxRTPStreams) ends a peer whose client made
// pion open too many read streams. Closing its PeerConnection alone left
// the participant in the router, with a dead connection, and in its
// meeting, its client told nothing (found in review, R3-2): the peer is
// now taken out of its router as RemovePeer would, and its owner is told
// (FloodWatcher), to take the participant out and tell its client why.

// FloodWatcher is a Signaller that wants to know when the SFU closed its
// peer for flooding. The SFU knows nothing of meetings: the owner of the
// router (a room) makes the Signaller it hands AddPeer one, and takes the
// participant out when told.
type FloodWatcher interface {
	// PeerFlooded is called once, on a goroutine of its own with no lock
	// of the SFU held, after p was closed and taken out of its router;
	// it may block and may call the router. It is not called when p was
	// no longer its participant's peer in the router (RemovePeer came
	// first: the participant left, or a reconnect replaced p), so a newer
	// peer of the same participant is never taken for it.
	PeerFlooded(p *Peer)
}

// closeFlooded ends p for flooding: out of the router if it is still
// its participant's peer there (never a newer one's), closed, its
// tracks unpublished, and its Signaller told if it is a FloodWatcher. A
// viewer's peer is in no router's peers: it is closed, and its
// PeerConnection's close ends the viewer (its ended callback).
func (r *Router) closeFlooded(p *Peer) {
	if !r.removePeer(p.participant, p) {
		p.close()
		return
	}
	if w, ok := p.sig.(FloodWatcher); ok {
		w.PeerFlooded(p)
	}
}
