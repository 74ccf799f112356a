package sfu

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// RelayIn receives the tracks published on another node of the meeting
// and publishes them in this node's Router: the receiving end of a relay
// (see relay.go). It closes itself when the node has no participant of
// the meeting left.
type RelayIn struct {
	router *Router
	node   string
	pc     *webrtc.PeerConnection
	sig    RelaySignaller
	log    *slog.Logger
	done   chan struct{}

	mu sync.Mutex // serialises negotiation and guards the fields below
	// owners stand for the other node's publishers in this node's Router,
	// by participant ID: the owners of their relayed tracks.
	owners map[string]*Peer
	tracks map[relayKey]*UpTrack
	closed bool
}

// relayKey is one relayed track: its publisher and the sending node's
// number for it (see relayTrackID).
type relayKey struct {
	participant string
	n           uint64
}

// RelayFrom prepares to receive the meeting's tracks published on another
// node. The cluster asks that node to relay to this one; its offers come
// through HandleOffer, and the answers go back through sig.
func (r *Router) RelayFrom(node string, sig RelaySignaller) (*RelayIn, error) {
	in := &RelayIn{
		router: r,
		node:   node,
		sig:    sig,
		log:    r.log.With("relay_from", node),
		done:   make(chan struct{}),
		owners: make(map[string]*Peer),
		tracks: make(map[relayKey]*UpTrack),
	}
	pc, err := r.relayConn(in.log, in.Close)
	if err == nil {
		in.pc = pc
		pc.OnTrack(in.onTrack)
		if err = addRelay(r, &r.relayIns, node, in); err != nil {
			_ = pc.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("relay from %s: %w", node, err)
	}
	return in, nil
}

// Node is the node the relay receives from.
func (in *RelayIn) Node() string { return in.node }

// HandleOffer applies the other node's offer and sends the answer once
// this end's candidates are gathered.
func (in *RelayIn) HandleOffer(offer string) error {
	if err := checkRelayOffer(offer); err != nil {
		return err
	}
	in.mu.Lock()
	if in.closed || pcClosed(in.pc) {
		in.mu.Unlock()
		return ErrRelayClosed
	}
	if in.pc.SignalingState() != webrtc.SignalingStateStable {
		in.mu.Unlock()
		return ErrOutOfTurn
	}
	known := make(map[string]bool)
	for _, t := range in.pc.GetTransceivers() {
		known[t.Mid()] = true
	}
	if err := in.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: endedAsRecvonly(offer, known)}); err != nil {
		in.mu.Unlock()
		return refusedSDP(in.pc, "", err)
	}
	answer, err := in.pc.CreateAnswer(nil)
	gathered := webrtc.GatheringCompletePromise(in.pc)
	if err == nil {
		err = in.pc.SetLocalDescription(answer)
	}
	renamed := in.renamedLocked()
	in.mu.Unlock()
	for _, recv := range renamed {
		_ = recv.Stop() // its track ends (onTrack)
	}
	if err != nil {
		return refusedSDP(in.pc, "relay answer: ", err)
	}
	select {
	case <-gathered:
	case <-in.done:
		return ErrRelayClosed
	}
	desc := in.pc.LocalDescription()
	if desc == nil {
		return ErrRelayClosed
	}
	in.sig.Description(desc.SDP)
	return nil
}

// endedAsRecvonly marks the offer's ended sections (inactive: their track
// stopped, the section free for the next, see RelayOut.addLocked) that
// this end knows already (known mids) as recvonly, which is the same to
// this end (nothing comes in them) but keeps them ready for a track: pion
// stops a known section's transceiver at every offer that has it
// inactive, which also stops the fresh receiver it made for the
// section's next track when the last one ended, so a section offered
// inactive twice (any renegotiation while it is free) would never carry
// media again. A recvonly section's old track ends all the same (its
// SSRC has gone from the offer: pion replaces the receiver). A section
// new to this end stays inactive: pion would make a transceiver for a new
// recvonly section that sends, and never receives.
func endedAsRecvonly(offer string, known map[string]bool) string {
	const sep, inactive, recvonly = "\r\nm=", "\r\na=inactive", "\r\na=recvonly"
	parts := strings.Split(offer, sep)
	for i := 1; i < len(parts); i++ {
		sec := parts[i]
		_, rest, ok := strings.Cut(sec, "\r\na=mid:")
		if !ok {
			continue
		}
		mid, _, _ := strings.Cut(rest, "\r\n")
		if !known[mid] {
			continue
		}
		switch {
		case strings.Contains(sec, inactive+"\r\n"):
			parts[i] = strings.Replace(sec, inactive+"\r\n", recvonly+"\r\n", 1)
		case strings.HasSuffix(sec, inactive):
			parts[i] = strings.TrimSuffix(sec, inactive) + recvonly
		}
	}
	return strings.Join(parts, sep)
}

// renamedLocked lists the receivers of layers whose section the offer
// just applied names another track (msid) while keeping its SSRC, which
// pion takes as the same stream renamed: no node of ours does that (a
// section carries a new track under a new SSRC, after an offer that
// ended its last one), so a peer node that does is hostile or broken.
// Stopping the receiver ends the track the section carried; what the
// section goes on carrying is received as no one's. Called with in.mu
// held, after SetRemoteDescription.
func (in *RelayIn) renamedLocked() []*webrtc.RTPReceiver {
	var out []*webrtc.RTPReceiver
	for key, up := range in.tracks {
		for i := range up.layers {
			l := up.layers[i].Load()
			if l == nil {
				continue
			}
			if l.remote.StreamID() != key.participant || l.remote.ID() != relayTrackID(up.source, l.rid, key.n) {
				in.log.Warn("a relayed section renamed under its stream; ending its track", "stream", key.participant,
					"track", relayTrackID(up.source, l.rid, key.n), "now_stream", l.remote.StreamID(), "now_track", l.remote.ID())
				out = append(out, l.recv)
			}
		}
	}
	return out
}

// Close stops receiving, unpublishes the relayed tracks (their
// subscribers here stop getting them) and tells the other node. Closing
// a closed relay does nothing.
func (in *RelayIn) Close() {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return
	}
	in.closed = true
	tracks := in.tracks
	in.tracks = make(map[relayKey]*UpTrack)
	in.mu.Unlock()

	r := in.router
	r.mu.Lock()
	if r.relayIns[in.node] == in {
		delete(r.relayIns, in.node)
	}
	r.mu.Unlock()
	close(in.done)
	if err := in.pc.Close(); err != nil {
		in.log.Debug("closing relay connection", "err", err)
	}
	for _, up := range tracks {
		r.unpublish(up)
	}
	in.sig.Closed()
}

// onTrack runs when a relayed layer starts arriving: the first layer of a
// track publishes it in the router, later ones join it.
func (in *RelayIn) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	participant := remote.StreamID()
	source, rid, n, ok := parseRelayTrackID(remote.ID())
	i, known := layerIndex(rid)
	if !ok || !known || participant == "" || !source.Valid() || source.Kind() != remote.Kind() {
		in.log.Warn("ignoring relayed track", "stream", participant, "track", remote.ID(), "kind", remote.Kind().String())
		return
	}
	key := relayKey{participant: participant, n: n}
	if !in.accepts(participant) {
		// Read and dropped, not stopped: the section may carry an
		// accepted track next (a stopped receiver would never).
		in.log.Warn("dropping a relayed track of a participant not relayed through that node", "stream", participant, "track", remote.ID())
		buf := make([]byte, 1500)
		for {
			if _, _, err := remote.Read(buf); err != nil {
				return
			}
		}
	}

	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return
	}
	up := in.tracks[key]
	isNew := up == nil
	if isNew {
		owner := in.owners[participant]
		if owner == nil {
			owner = &Peer{router: in.router, participant: participant, log: in.log.With("participant", participant)}
			in.owners[participant] = owner
		}
		up = newUpTrack(owner, source, "", remote, recv)
		up.simulcast = rid != ""
		up.feedback = in.pc
		up.relayed = true
		up.from = in.node
		in.tracks[key] = up
	}
	var l *layer
	if up.source == source && up.simulcast == (rid != "") {
		l = up.addRelayedLayer(i, rid, remote, recv)
	}
	in.mu.Unlock()
	if l == nil {
		in.log.Warn("ignoring relayed layer", "stream", participant, "track", remote.ID())
		return
	}

	if isNew {
		in.router.publish(up)
		if up.simulcast {
			go up.chooseLayers()
		}
	} else {
		for _, d := range *up.downs.Load() {
			d.retarget(time.Now().UnixNano())
		}
	}
	l.forwardRelayed()
	in.mu.Lock()
	if in.tracks[key] == up {
		delete(in.tracks, key)
	}
	in.mu.Unlock()
	in.router.unpublish(up)
}

// accepts asks the signaller (RelayGuard) whether the participant's
// relayed tracks are taken.
func (in *RelayIn) accepts(participant string) bool {
	g, ok := in.sig.(RelayGuard)
	return !ok || g.AcceptRelayed(participant)
}

// RecheckRelayed asks the signaller of the relay from node (RelayGuard)
// again about each participant whose relayed tracks the router publishes
// and ends those it no longer accepts (a member removed, banned or gone
// while the other node goes on sending their media): their subscribers
// here stop getting them at once, and what still arrives for them goes
// nowhere. It reports how many tracks it ended.
func (r *Router) RecheckRelayed(node string) int {
	r.mu.Lock()
	in := r.relayIns[node]
	r.mu.Unlock()
	if in == nil {
		return 0
	}
	in.mu.Lock()
	participants := make(map[string]bool)
	for key := range in.tracks {
		participants[key.participant] = true
	}
	in.mu.Unlock()
	for p := range participants {
		participants[p] = in.accepts(p)
	}
	var ended []*UpTrack
	in.mu.Lock()
	for key, up := range in.tracks {
		if accepted, asked := participants[key.participant]; asked && !accepted {
			delete(in.tracks, key)
			ended = append(ended, up)
		}
	}
	in.mu.Unlock()
	for _, up := range ended {
		in.log.Info("relayed track ended: its publisher is no longer relayed through that node", "stream", up.owner.participant, "source", up.source)
		r.unpublish(up)
	}
	return len(ended)
}

// addRelayedLayer adds layer i, which arrives as its own stream (rid ""
// on the relay's connection). It returns nil if the layer exists.
func (u *UpTrack) addRelayedLayer(i int, rid string, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *layer {
	l := &layer{up: u, index: i, rid: rid, remote: remote, recv: recv, ssrc: uint32(remote.SSRC())}
	if u.kind == webrtc.RTPCodecTypeVideo {
		l.cache = newPacketCache(videoCachePackets)
		l.batch = &frameBatch{}
	}
	if !u.layers[i].CompareAndSwap(nil, l) {
		return nil
	}
	return l
}

// forwardRelayed is forward for a relayed layer, whose stream on the
// relay's connection has no RID of its own.
func (l *layer) forwardRelayed() {
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := l.recv.Read(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 1500)
	for {
		n, _, err := l.remote.Read(buf)
		if err != nil {
			return
		}
		l.up.route(l, buf[:n], time.Now().UnixNano())
	}
}
