package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// RelayOut sends the tracks this node's participants publish in a meeting
// to one other node: the sending end of a relay (see relay.go).
type RelayOut struct {
	router *Router
	node   string
	pc     *webrtc.PeerConnection
	sig    RelaySignaller
	log    *slog.Logger
	done   chan struct{}

	mu     sync.Mutex // serialises negotiation and guards the fields below
	tracks map[*UpTrack]*relayTrack
	next   uint64 // the number of the next track relayed
	// needOffer: the tracks changed since the last offer.
	needOffer bool
	closed    bool
	// Sections of stopped tracks, by how far their stopping has gone:
	// stopped (not offered yet), offered (in the outstanding offer) and
	// free (the other node answered: its receiver there has ended, so the
	// section may carry another track; see addLocked).
	stopped, offered, free []*webrtc.RTPTransceiver
}

// relayTrack is one published track relayed to one node: a sender per
// layer.
type relayTrack struct {
	up      *UpTrack
	senders [maxLayers]*relaySender // nil where the track has no such layer
}

// relaySender sends one layer of an UpTrack to another node as it came.
// It implements webrtc.TrackLocal.
type relaySender struct {
	up       *UpTrack
	layer    int
	id       string
	streamID string
	tr       *webrtc.RTPTransceiver
	sender   *webrtc.RTPSender
	binding  atomic.Pointer[binding]

	// packets counts those relayed, resent those sent again for a NACK.
	packets, resent atomic.Uint64

	// Guarded by up.fanout.
	hdr     rtp.Header
	exts    [1]rtp.Extension
	rtxHdr  rtp.Header
	resends *resendTable // by sequence number; nil until a NACK
}

// RelayTo starts relaying the meeting's tracks published on this node to
// another node, now and as they are published, until the relay closes.
// sig carries the offers to the other node's RelayIn; its answers come
// back through HandleAnswer.
func (r *Router) RelayTo(node string, sig RelaySignaller) (*RelayOut, error) {
	o := &RelayOut{
		router: r,
		node:   node,
		sig:    sig,
		log:    r.log.With("relay_to", node),
		done:   make(chan struct{}),
		tracks: make(map[*UpTrack]*relayTrack),
	}
	pc, err := r.relayConn(o.log, o.Close)
	if err == nil {
		o.pc = pc
		if err = addRelay(r, &r.relayOuts, node, o); err != nil {
			_ = pc.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("relay to %s: %w", node, err)
	}
	// A track published meanwhile is added by publish as well: addLocked
	// takes each once.
	r.mu.Lock()
	var local []*UpTrack
	for up := range r.tracks {
		if r.relaysTo(up, node) {
			local = append(local, up)
		}
	}
	r.mu.Unlock()

	o.mu.Lock()
	for _, up := range local {
		o.addLocked(up)
	}
	o.offerLocked()
	o.mu.Unlock()
	return o, nil
}

// Node is the node the relay sends to.
func (o *RelayOut) Node() string { return o.node }

// add starts relaying a newly published track.
func (o *RelayOut) add(up *UpTrack) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.addLocked(up)
	o.offerLocked()
}

// addLocked adds a sender for each layer the track may have, each in a
// free section of a stopped track if there is one of its kind (reuse),
// else in a new one: a relay's sections grow only with the tracks it
// carries at once, not with a meeting's churn of them. A reused section
// is offered with the new track's msid and a new SSRC, and its media
// starts only once the other node has answered that offer, after the
// answer that ended the section's previous track there. Called with o.mu
// held.
func (o *RelayOut) addLocked(up *UpTrack) {
	if o.closed || o.tracks[up] != nil {
		return
	}
	rt := &relayTrack{up: up}
	n := o.next
	o.next++
	layers := 1
	if up.simulcast {
		layers = maxLayers
	}
	for i := range layers {
		s := &relaySender{up: up, layer: i, id: relayTrackID(up.source, layerRID(up.simulcast, i), n), streamID: up.owner.participant}
		t, err := o.reuseLocked(s)
		if t == nil && err == nil {
			t, err = o.pc.AddTransceiverFromTrack(s, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		}
		if err != nil {
			o.log.Error("relay a track", "publisher", up.owner.participant, "source", up.source, "err", err)
			o.stopSendersLocked(rt)
			return
		}
		s.tr, s.sender = t, t.Sender()
		rt.senders[i] = s
	}
	if !up.attachRelay(rt) {
		o.stopSendersLocked(rt) // it closed meanwhile
		return
	}
	o.tracks[up] = rt
	for _, s := range rt.senders {
		if s != nil {
			go s.readRTCP()
		}
	}
	o.needOffer = true
}

// reuseLocked puts s in a free section of its kind, if there is one; it
// returns nil and no error if there is none. Called with o.mu held.
func (o *RelayOut) reuseLocked(s *relaySender) (*webrtc.RTPTransceiver, error) {
	for i, t := range o.free {
		if t.Kind() != s.Kind() {
			continue
		}
		o.free = append(o.free[:i], o.free[i+1:]...)
		sender, err := o.router.sfu.api.NewRTPSender(s, o.pc.SCTP().Transport())
		if err == nil {
			if err = t.SetSender(sender, s); err != nil {
				_ = sender.Stop()
			}
		}
		if err != nil {
			o.free = append(o.free, t)
			return nil, err
		}
		return t, nil
	}
	return nil, nil
}

// remove stops relaying a track.
func (o *RelayOut) remove(up *UpTrack) {
	o.mu.Lock()
	defer o.mu.Unlock()
	rt := o.tracks[up]
	if rt == nil {
		return
	}
	delete(o.tracks, up)
	up.detachRelay(rt)
	if o.closed {
		return
	}
	o.stopSendersLocked(rt)
	o.needOffer = true
	o.offerLocked()
}

// stopSendersLocked removes a relayed track's senders from the
// connection. Called with o.mu held.
func (o *RelayOut) stopSendersLocked(rt *relayTrack) {
	for _, s := range rt.senders {
		if s != nil && s.sender != nil {
			if err := o.pc.RemoveTrack(s.sender); err != nil {
				o.log.Debug("relay: remove track", "err", err)
				continue
			}
			o.stopped = append(o.stopped, s.tr)
		}
	}
}

// offerLocked offers the relay's current tracks if they changed and no
// offer is outstanding. The offer is sent once the connection's
// candidates are gathered. Called with o.mu held.
func (o *RelayOut) offerLocked() {
	if o.closed || !o.needOffer || o.pc.SignalingState() != webrtc.SignalingStateStable {
		return
	}
	if len(o.pc.GetTransceivers()) == 0 {
		return // nothing to relay yet
	}
	o.needOffer = false
	offer, err := o.pc.CreateOffer(nil)
	if err != nil {
		o.offerFailed("relay: create offer", err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(o.pc)
	if err := o.pc.SetLocalDescription(offer); err != nil {
		o.offerFailed("relay: set offer", err)
		return
	}
	o.offered = append(o.offered, o.stopped...)
	o.stopped = nil
	go func() {
		select {
		case <-gathered:
		case <-o.done:
			return
		}
		o.mu.Lock()
		desc := o.pc.LocalDescription()
		closed := o.closed
		o.mu.Unlock()
		if !closed && desc != nil {
			o.sig.Description(desc.SDP)
		}
	}()
}

// offerFailed logs a failure to make an offer: an error, unless the
// connection was closed by the other node (the relay is ending, see
// pcClosed).
func (o *RelayOut) offerFailed(msg string, err error) {
	if errors.Is(refusedSDP(o.pc, "", err), ErrRelayClosed) {
		o.log.Debug(msg+": the other node closed the relay", "err", err)
		return
	}
	o.log.Error(msg, "err", err)
}

// HandleAnswer applies the other node's answer to the latest offer, and
// offers again if the tracks changed meanwhile.
func (o *RelayOut) HandleAnswer(answer string) error {
	if len(answer) > maxSDPBytes {
		return fmt.Errorf("%w: relay answer of %d bytes", ErrBadSDP, len(answer))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || pcClosed(o.pc) {
		return ErrRelayClosed
	}
	if o.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return ErrUnexpectedAnswer
	}
	if err := o.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return refusedSDP(o.pc, "", err)
	}
	o.free = append(o.free, o.offered...)
	o.offered = nil
	o.offerLocked()
	return nil
}

// Close stops the relay and tells the other node. Closing a closed relay
// does nothing.
func (o *RelayOut) Close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	tracks := o.tracks
	o.tracks = make(map[*UpTrack]*relayTrack)
	o.mu.Unlock()

	for up, rt := range tracks {
		up.detachRelay(rt)
	}
	r := o.router
	r.mu.Lock()
	if r.relayOuts[o.node] == o {
		delete(r.relayOuts, o.node)
	}
	r.mu.Unlock()
	close(o.done)
	if err := o.pc.Close(); err != nil {
		o.log.Debug("closing relay connection", "err", err)
	}
	o.sig.Closed()
}

// relayed lists the tracks the relay carries, for tests.
func (o *RelayOut) relayed() []*relayTrack {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]*relayTrack, 0, len(o.tracks))
	for _, rt := range o.tracks {
		out = append(out, rt)
	}
	return out
}

// attachRelay adds a relay of the track. It reports false if the track
// has closed.
func (u *UpTrack) attachRelay(rt *relayTrack) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	var old []*relayTrack
	if p := u.relays.Load(); p != nil {
		old = *p
	}
	next := make([]*relayTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, rt)
	u.relays.Store(&next)
	return true
}

// detachRelay removes a relay of the track.
func (u *UpTrack) detachRelay(rt *relayTrack) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.relays.Load()
	if p == nil {
		return
	}
	next := make([]*relayTrack, 0, len(*p))
	for _, x := range *p {
		if x != rt {
			next = append(next, x)
		}
	}
	u.relays.Store(&next)
}

// relay writes packets to every relay of the track and returns the
// packets and bytes written. Called with u.fanout held, from send.
func (u *UpTrack) relay(pkts []inPacket) (sent, bytes int) {
	p := u.relays.Load()
	if p == nil {
		return 0, 0
	}
	for _, rt := range *p {
		for i := range pkts {
			s := rt.senders[pkts[i].layer]
			if s == nil {
				continue
			}
			if n := s.forward(&pkts[i]); n > 0 {
				sent++
				bytes += n
			}
		}
	}
	return sent, bytes
}

// ID implements webrtc.TrackLocal.
func (s *relaySender) ID() string { return s.id }

// RID implements webrtc.TrackLocal: each layer is its own stream on the
// relay, named by its ID.
func (s *relaySender) RID() string { return "" }

// StreamID implements webrtc.TrackLocal: the publisher's participant ID.
func (s *relaySender) StreamID() string { return s.streamID }

// Kind implements webrtc.TrackLocal.
func (s *relaySender) Kind() webrtc.RTPCodecType { return s.up.kind }

// Bind implements webrtc.TrackLocal.
func (s *relaySender) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	b, c, ok := bindCodec(ctx, s.up.codec)
	if !ok {
		return webrtc.RTPCodecParameters{}, errNoCodec
	}
	s.binding.Store(b)
	return c, nil
}

// Unbind implements webrtc.TrackLocal.
func (s *relaySender) Unbind(webrtc.TrackLocalContext) error {
	s.binding.Store(nil)
	return nil
}

// forward relays one packet of the sender's layer unchanged but for its
// SSRC and payload type. Called with up.fanout held; it must not
// allocate.
func (s *relaySender) forward(p *inPacket) int {
	n := s.write(p.hdr, p.payload, p.padding, p.audioLevel)
	if n > 0 {
		s.packets.Add(1)
	}
	return n
}

// write sends one packet with the relay's SSRC and payload type and the
// publisher's sequence number, timestamp, marker and payload. Called with
// up.fanout held.
func (s *relaySender) write(in *rtp.Header, payload []byte, padding byte, audioLevel []byte) int {
	b := s.binding.Load()
	if b == nil {
		return 0
	}
	return b.write(&s.hdr, s.exts[:0], in, in.SequenceNumber, in.Timestamp, payload, padding, audioLevel)
}

// readRTCP handles the other node's feedback about this layer: NACKs are
// answered from the layer's packet cache, picture loss becomes a
// (throttled) key-frame request to the publisher.
func (s *relaySender) readRTCP() {
	for {
		pkts, _, err := s.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				s.retransmit(p)
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if l := s.up.layers[s.layer].Load(); l != nil {
					l.requestKeyframe()
				}
			}
		}
	}
}

// retransmit sends again the packets of a NACK that the layer's cache
// still has, each at most maxResends times.
func (s *relaySender) retransmit(n *rtcp.TransportLayerNack) {
	up := s.up
	l := up.layers[s.layer].Load()
	if l == nil || l.cache == nil {
		return
	}
	up.fanout.Lock()
	defer up.fanout.Unlock()
	if up.blocked.Load() {
		return
	}
	for _, pair := range n.Nacks {
		for i := 0; i < 17; i++ {
			if i > 0 && pair.LostPackets&(1<<(i-1)) == 0 {
				continue
			}
			s.resend(l, pair.PacketID+uint16(i))
		}
	}
}

// resend writes the packet numbered seq again, if the cache has it.
// Called with up.fanout held.
func (s *relaySender) resend(l *layer, seq uint16) {
	raw := l.cache.get(seq)
	if raw == nil {
		return
	}
	hlen, err := s.rtxHdr.Unmarshal(raw)
	if err != nil {
		return
	}
	if s.resends == nil {
		s.resends = new(resendTable)
	}
	if !s.resends.allow(seq, s.rtxHdr.Timestamp) {
		return
	}
	end := len(raw)
	var pad byte
	if s.rtxHdr.Padding {
		pad = raw[end-1]
		end -= int(pad)
	}
	if end < hlen {
		return
	}
	if s.write(&s.rtxHdr, raw[hlen:end], pad, nil) > 0 {
		s.resent.Add(1)
	}
}
