package sfu

import (
	"net/netip"
	"sync"

	"github.com/pion/webrtc/v4"
)

// The direct path: a participant's forwarded RTP, once encrypted
// (srtpout.go), is queued straight for the SFU's batching socket that
// ICE's selected candidate pair sends from, to that pair's remote
// address, instead of going through pion's SRTP endpoint, mux endpoint
// and ICE connection (which look the pair up and hand the packet to the
// same socket for the same address). What it is sent to is only ever
// what ICE itself sends to:
//
//   - the pair is read from pion's ICE transport
//     (ICETransport.GetSelectedCandidatePair, public API), i.e. the pair
//     ICE validated with connectivity checks and selected; a remote
//     candidate that was only signalled, or whose checks never
//     succeeded, is never it;
//   - it is read again at every selected-pair change and every ICE state
//     change, and used only while ICE is connected or completed: on
//     checking (an ICE restart), disconnected, failed or closed the
//     packets take pion's path again, which keeps pion's semantics;
//   - only a UDP host candidate of the SFU's own (a socket per candidate
//     from the owned net, or the single-port mux's) is taken, and only
//     when exactly one open socket of the SFU's has the candidate's port
//     and address (or listens on every address); TCP, relayed and
//     server-reflexive candidates, a remote named rather than numbered
//     (mDNS), or anything ambiguous keep pion's path.
//
// A pair change is seen when pion's callback runs: until then packets go
// to the pair selected before, which ICE had validated too (pion's own
// path would switch a few packets sooner). pion's view of the pair's
// traffic (its bytes-sent statistics and the candidate's last-sent time)
// no longer counts these packets; ICE keepalives are sent by pion on
// their own timer either way.

// directTarget is where the direct path sends a peer's RTP: the SFU's
// socket of the selected pair and the pair's remote address.
type directTarget struct {
	c   *batchConn
	dst netip.AddrPort
}

// direct follows a peer's selected ICE pair for its srtpOut.
type direct struct {
	mu sync.Mutex // one refresh at a time: the last one reads the latest state
}

// followICE has the peer's own SRTP follow ICE's selected pair: called
// at every ICE state change and selected-pair change.
func (p *Peer) followICE() {
	o := p.out
	if o == nil {
		return
	}
	o.follow.mu.Lock()
	defer o.follow.mu.Unlock()
	o.direct.Store(p.router.sfu.directTarget(p.pc))
}

// directTarget is where pc's selected pair sends from and to, when the
// direct path may take it; nil otherwise.
func (s *SFU) directTarget(pc *webrtc.PeerConnection) *directTarget {
	if s == nil || s.batch == nil || s.owned == nil || pc == nil {
		return nil
	}
	switch pc.ICEConnectionState() {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
	default:
		return nil
	}
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return nil
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
		return nil
	}
	return s.owned.target(s.batch, pair.Local, pair.Remote)
}

// target is the SFU's socket for local and the address of remote, a
// selected pair's candidates, or nil if the direct path does not take
// them.
func (n *ownedNet) target(b *batcher, local, remote *webrtc.ICECandidate) *directTarget {
	if local.Protocol != webrtc.ICEProtocolUDP || remote.Protocol != webrtc.ICEProtocolUDP ||
		local.Typ != webrtc.ICECandidateTypeHost {
		return nil
	}
	la, err := netip.ParseAddr(local.Address)
	if err != nil || local.Port == 0 {
		return nil
	}
	ra, err := netip.ParseAddr(remote.Address)
	if err != nil || remote.Port == 0 || ra.Zone() != "" || !ra.IsValid() || ra.IsUnspecified() {
		return nil
	}
	dst := netip.AddrPortFrom(ra.Unmap(), remote.Port)
	// Exactly one open socket of the SFU's for the local candidate (its
	// address, every address, or the public address advertised for it).
	s, matches := n.reaching(netip.AddrPortFrom(la.Unmap(), local.Port))
	if matches != 1 || s.batch == nil || !s.batch.queueable(dst.Addr()) {
		return nil
	}
	return &directTarget{c: s.batch, dst: dst}
}
