package sfu

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Signaller carries a peer's negotiation messages to its client. Its methods
// must not block nor call back into the Peer: they are called with the
// peer's lock held, and Candidate also on pion's goroutine with the lock
// of the peer's candidate hold (candidateHold), which the peer's
// negotiation takes under its own lock.
type Signaller interface {
	// Renegotiate asks the client for a turn to offer.
	Renegotiate()
	Offer(sdp string, tracks []TrackInfo)
	Answer(sdp string)
	Candidate(c webrtc.ICECandidateInit)
}

// Peer is one participant's PeerConnection: what it publishes and what it
// receives.
//
// Offers never cross: the client offers when it changes what it publishes,
// but the server offers only when the client has granted it a turn. When the
// server has changes it sends Renegotiate; the client answers with Ready
// once it is stable, and does not offer again until it has answered the
// server's offer. (pion cannot roll back an offer, so "perfect
// negotiation" would wedge a pion client; turn-taking needs no rollback.)
type Peer struct {
	router      *Router
	participant string
	pc          *webrtc.PeerConnection
	sig         Signaller
	log         *slog.Logger

	mu sync.Mutex // serialises negotiation and changes to the fields below
	// published maps the client's mids to the sources it declared.
	published map[string]Source
	// upTracks are this peer's live published tracks by mid.
	upTracks map[string]*UpTrack
	// blocked are the sources a host stopped; tracks published for them
	// later start blocked too.
	blocked map[Source]bool
	// downs are this peer's subscriptions; downList, the same as a list
	// replaced (never modified) on change, read by the layer choosers
	// without the lock.
	downs    map[*UpTrack]*DownTrack
	downList atomic.Pointer[[]*DownTrack]
	// pendingCandidates wait for a remote description.
	pendingCandidates []webrtc.ICECandidateInit
	// needOffer is set when the client's view of its subscriptions is out
	// of date; askedTurn when Renegotiate was sent and Ready is awaited.
	needOffer bool
	askedTurn bool
	closed    bool

	// offered counts the transceivers the SFU added (subscriptions), for
	// checkSize.
	offered atomic.Int32

	// connected is set once the transport (ICE and DTLS) first comes up.
	// Until then pion drops what is written to the peer's tracks, so no
	// DownTrack starts its stream: a key frame forwarded into the void
	// would leave the subscriber with deltas it cannot decode.
	connected atomic.Bool

	// publishOnly: a source that only sends (publisher.go), never
	// subscribed to anything.
	publishOnly bool

	// rtcp routes the subscriber's feedback to its DownTracks; nil for a
	// peer made without it (tests), whose DownTracks then read their own.
	rtcp *rtcpRoutes

	// out encrypts and writes the RTP of a participant's DownTracks
	// (srtpout.go); nil for viewers and sources, whose DownTracks write
	// through pion.
	out *srtpOut

	// ice asks the client to restart ICE while the transport is down and
	// bounds the client's own restarts (icewatch.go).
	ice *iceWatch

	// iceStarted is closed once pion's ICE agent has the client's ICE
	// credentials (its state left "new"): see awaitICEStart.
	iceStarted     chan struct{}
	iceStartedOnce sync.Once

	// cands holds the server's ICE candidates back while a description
	// is made and signalled; see candidateHold.
	cands candidateHold
}

// candidateHold keeps the server's ICE candidates from overtaking the
// description whose credentials they belong to. pion gathers inside
// SetRemoteDescription (an ICE restart offer) and SetLocalDescription (the
// first description), and reports each candidate on a goroutine of its own,
// so a candidate can be signalled before the answer or offer that carries
// its generation's ufrag. A client adds it to the generation it has (the
// old one, or none), and it is lost: a Firefox whose restart got only such
// candidates had none of the server's to check, and ICE failed 5 s later
// (TestRestartCandidatesFollowTheAnswer, TestServerOfferCandidatesFollowTheOffer).
//
// The Peer holds them from just before it applies or makes a description
// until the description has been signalled (or has failed), then signals
// them in the order pion reported them, the end of candidates included.
// The hold is started and ended under p.mu, so close never meets a held
// queue. pion's callback takes only mu, never p.mu: an offer waits under
// p.mu for pion's ICE agent (awaitICEStart), and a callback waiting for
// p.mu deadlocked with it. Signalling under mu keeps the flushed and the
// later candidates in order; it is safe because a Signaller never blocks
// and never calls back into the Peer.
type candidateHold struct {
	mu      sync.Mutex
	holding bool
	// queue is what pion reported during the hold; the end of candidates
	// is an empty Candidate. At most maxHeldCandidates.
	queue []webrtc.ICECandidateInit
}

// maxHeldCandidates bounds a hold's queue. A hold lasts one description
// (milliseconds) and pion reports a generation's candidates once each: one
// per local address and transport, plus server-reflexive and relayed ones,
// a handful on an ordinary host. Past the bound a candidate is signalled at
// once, as before the hold existed: early, it may be lost; dropped, it
// would be. So a Peer's queue never exceeds 128 candidates (about 25 KiB),
// and is released (nil) after each hold.
const maxHeldCandidates = 128

// hold starts holding candidates back. Called with p.mu held.
func (h *candidateHold) hold() {
	h.mu.Lock()
	h.holding = true
	h.mu.Unlock()
}

// release signals what was held, in order, and stops holding. Called with
// p.mu held, after the description was signalled or failed; a second call
// does nothing.
//
// A failed description's candidates are signalled too, not dropped: if
// pion refused the offer before restarting its agent they belong to the
// generation the client has, and dropping them would lose them; if it
// restarted and then failed, the client never gets the new credentials
// and the candidates (each names its ufrag) are no use to it either way.
func (h *candidateHold) release(sig Signaller) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.queue {
		sig.Candidate(c)
	}
	h.queue = nil
	h.holding = false
}

// signal signals a candidate pion reported, or holds it back. Called on
// pion's goroutine: it must not take p.mu.
func (h *candidateHold) signal(sig Signaller, c webrtc.ICECandidateInit) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holding && len(h.queue) < maxHeldCandidates {
		h.queue = append(h.queue, c)
		return
	}
	sig.Candidate(c)
}

func newPeer(r *Router, participant string, pc *webrtc.PeerConnection, sig Signaller) *Peer {
	p := &Peer{
		router:      r,
		participant: participant,
		pc:          pc,
		sig:         sig,
		log:         r.log.With("participant", participant),
		published:   make(map[string]Source),
		upTracks:    make(map[string]*UpTrack),
		blocked:     make(map[Source]bool),
		downs:       make(map[*UpTrack]*DownTrack),
		ice:         newICEWatch(sig, time.Now()),
		iceStarted:  make(chan struct{}),
	}
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s != webrtc.ICEConnectionStateNew {
			p.iceStartedOnce.Do(func() { close(p.iceStarted) })
			// Before DTLS, and so before pion opens any SRTP or SRTCP
			// stream; p.rtcp is set by AddPeer before any description.
			if p.rtcp != nil {
				p.rtcp.watch(p)
			}
		}
		p.ice.changed(s)
		p.followICE()
	})
	if it := pc.SCTP().Transport().ICETransport(); it != nil {
		it.OnSelectedCandidatePairChange(func(*webrtc.ICECandidatePair) { p.followICE() })
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			p.cands.signal(sig, webrtc.ICECandidateInit{}) // end of candidates
			return
		}
		p.cands.signal(sig, c.ToJSON())
	})
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("peer connection state", "state", s.String())
		if s == webrtc.PeerConnectionStateConnected {
			if p.out != nil {
				p.out.start(p, p.router.sfu.ownSRTP)
			}
			p.connected.Store(true)
			go p.requestKeyframes()
		}
	})
	return p
}

// requestKeyframes asks the publishers of everything this peer receives for
// a keyframe, once its transport is up: what a publisher sent before never
// arrived, and without a keyframe the subscriber shows nothing until the
// next one. Each subscription asks for the layer it waits for (see
// DownTrack.requestKeyframe), not for every layer of a simulcast track: a
// full-size key frame costs the publisher the most, and a layer's request
// spends its throttle for whoever joins in the next keyframeInterval.
// Requests inside the interval are owed, not dropped (layer.requestKeyframe),
// so everyone joining meanwhile starts on the one key frame.
func (p *Peer) requestKeyframes() {
	p.mu.Lock()
	downs := make([]*DownTrack, 0, len(p.downs))
	for _, d := range p.downs {
		downs = append(downs, d)
	}
	p.mu.Unlock()
	for _, d := range downs {
		d.requestKeyframe()
	}
}

// Participant returns the participant ID this peer belongs to.
func (p *Peer) Participant() string { return p.participant }

// HandleOffer applies a client's offer and answers it. tracks says what each
// of the client's sending transceivers carries; sources no longer listed
// stop being forwarded.
func (p *Peer) HandleOffer(offer string, tracks []PublishedTrack) error {
	if err := p.checkSize(offer); err != nil {
		return err
	}
	published, err := checkPublished(offer, tracks)
	if err != nil {
		return err
	}
	ended, err := p.answer(offer, published)
	for _, up := range ended {
		p.router.unpublish(up)
	}
	return err
}

// answer does HandleOffer's work under the lock and returns the tracks the
// offer ended, for the caller to unpublish once the lock is released.
func (p *Peer) answer(offer string, published map[string]Source) ([]*UpTrack, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPeerClosed
	}
	if p.pc.SignalingState() != webrtc.SignalingStateStable {
		return nil, ErrOutOfTurn
	}
	if err := p.ice.takeRestart(p.pc.RemoteDescription(), offer, time.Now()); err != nil {
		return nil, err
	}
	if cur := p.pc.RemoteDescription(); cur != nil && iceUfrag(cur.SDP) != "" && iceUfrag(cur.SDP) == iceUfrag(offer) {
		p.awaitICEStart()
	}

	// An ICE restart offer starts pion gathering the new generation's
	// candidates inside SetRemoteDescription, the first answer inside
	// SetLocalDescription: they wait for the answer. The deferred release
	// covers the failures; it runs before the deferred unlock.
	p.cands.hold()
	defer p.cands.release(p.sig)
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	// onTrack needs p.mu, so no track of this offer is handled before the
	// new mapping is in place.
	var ended []*UpTrack
	for mid, up := range p.upTracks {
		if published[mid] != up.source {
			ended = append(ended, up)
			delete(p.upTracks, mid)
		}
	}
	p.published = published
	p.applyPendingCandidatesLocked()
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		return ended, fmt.Errorf("%w: answer: %v", ErrBadSDP, err)
	}
	p.sig.Answer(answer.SDP)
	p.cands.release(p.sig)
	p.askTurnLocked()
	return ended, nil
}

// iceStartWait bounds awaitICEStart: pion starts its transport within
// milliseconds of the first remote description; past this, the offer is
// applied anyway, as before the wait existed.
const iceStartWait = 2 * time.Second

// awaitICEStart waits until pion's ICE agent has the client's ICE
// credentials, before an offer that keeps them is applied. pion hands
// them to its agent only when its transport starts, on a goroutine of its
// own after the first remote description; until then it takes any offer
// that renegotiates for an ICE restart (the agent's credentials, still
// empty, differ from the offer's), restarts its agent and answers with new
// credentials of its own. A browser refuses such an answer to an offer that
// did not ask for a restart (Firefox: "Remote description indicates ICE
// restart but offer did not request ICE restart"), and the negotiation is
// wedged: a client that answers the server's first offer and at once
// offers what it publishes hit it in 9 of 20 rounds
// (TestOfferRightAfterFirstAnswerKeepsICE). Called with p.mu held; the
// agent's state change that ends the wait does not take it.
func (p *Peer) awaitICEStart() {
	if p.iceStarted == nil { // a Peer made without newPeer (a relay's owner)
		return
	}
	select {
	case <-p.iceStarted:
		return
	default:
	}
	t := time.NewTimer(iceStartWait)
	defer t.Stop()
	select {
	case <-p.iceStarted:
	case <-t.C:
		p.log.Warn("ICE transport not started; applying the offer anyway", "waited", iceStartWait)
	}
}

// HandleAnswer applies the client's answer to the server's latest offer.
func (p *Peer) HandleAnswer(answer string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPeerClosed
	}
	if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return ErrUnexpectedAnswer
	}
	if err := p.checkSize(answer); err != nil {
		p.needOffer = true // as for any bad answer, below
		return err
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		// Go back to stable and offer again, so one bad answer does not
		// wedge the connection.
		p.needOffer = true
		return fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	p.applyPendingCandidatesLocked()
	p.askTurnLocked()
	return nil
}

// HandleReady is the client granting the server a turn: the server offers
// its current subscriptions.
func (p *Peer) HandleReady() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPeerClosed
	}
	if !p.askedTurn || p.pc.SignalingState() != webrtc.SignalingStateStable {
		return ErrOutOfTurn
	}
	p.askedTurn = false
	p.needOffer = false
	// The server's first offer starts pion gathering inside
	// SetLocalDescription: the candidates wait for the offer.
	p.cands.hold()
	defer p.cands.release(p.sig)
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.needOffer = true
		p.askTurnLocked()
		return fmt.Errorf("create offer: %w", err)
	}
	tracks := make([]TrackInfo, 0, len(p.downs))
	for up, d := range p.downs {
		tracks = append(tracks, TrackInfo{
			Mid:         d.transceiver.Mid(),
			Participant: up.owner.participant,
			Source:      up.source,
			Kind:        up.Kind(),
		})
	}
	p.sig.Offer(offer.SDP, tracks)
	p.cands.release(p.sig)
	return nil
}

// AddCandidate applies a client's ICE candidate, or keeps it until a remote
// description arrives.
func (p *Peer) AddCandidate(c webrtc.ICECandidateInit) error {
	if c.Candidate == "" {
		return nil // end of candidates
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPeerClosed
	}
	if p.pc.RemoteDescription() == nil {
		if len(p.pendingCandidates) >= maxPendingCandidates {
			return fmt.Errorf("%w: too many candidates before a description", ErrBadCandidate)
		}
		p.pendingCandidates = append(p.pendingCandidates, c)
		return nil
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCandidate, err)
	}
	return nil
}

const maxPendingCandidates = 64

func (p *Peer) applyPendingCandidatesLocked() {
	for _, c := range p.pendingCandidates {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.log.Debug("dropping ICE candidate", "err", err)
		}
	}
	p.pendingCandidates = nil
}

// SetBlocked stops (or resumes) forwarding what the participant sends for a
// source, whatever the participant's client does.
func (p *Peer) SetBlocked(source Source, blocked bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked[source] = blocked
	for _, up := range p.upTracks {
		if up.source == source {
			up.blocked.Store(blocked)
		}
	}
}

// ConnectionState returns the state of the peer's PeerConnection.
func (p *Peer) ConnectionState() webrtc.PeerConnectionState {
	return p.pc.ConnectionState()
}

// close tears down the PeerConnection and every subscription.
func (p *Peer) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.ice.close()
	if p.out != nil {
		p.out.close()
	}
	downs := p.downs
	p.downs = make(map[*UpTrack]*DownTrack)
	p.listDowns()
	p.mu.Unlock()

	for up, d := range downs {
		up.detach(d)
	}
	if err := p.pc.Close(); err != nil {
		p.log.Debug("closing peer connection", "err", err)
	}
}

// onTrack runs when a client's published track starts arriving.
func (p *Peer) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	mid := ""
	for _, t := range p.pc.GetTransceivers() {
		if t.Receiver() == recv {
			mid = t.Mid()
			break
		}
	}

	p.mu.Lock()
	source, ok := p.published[mid]
	switch {
	case p.closed:
		p.mu.Unlock()
		return
	case !ok || source.Kind() != remote.Kind():
		p.mu.Unlock()
		p.log.Warn("ignoring undeclared track", "mid", mid, "kind", remote.Kind().String())
		return
	}
	// Each simulcast layer arrives as its own remote track on the same
	// mid; the first creates the UpTrack.
	up := p.upTracks[mid]
	isNew := up == nil
	if isNew {
		up = newUpTrack(p, source, mid, remote, recv)
		up.blocked.Store(p.blocked[source])
		p.upTracks[mid] = up
	}
	l := up.addLayer(remote, recv)
	p.mu.Unlock()
	if l == nil {
		p.log.Warn("ignoring track", "mid", mid, "rid", remote.RID())
		return
	}
	if up.simulcast {
		p.log.Debug("simulcast layer", "source", source, "rid", l.rid)
	}

	if isNew {
		p.router.publish(up)
		if up.simulcast {
			go up.chooseLayers()
		}
	} else {
		// Subscribers that had no layer yet may want this one.
		for _, d := range *up.downs.Load() {
			d.retarget(time.Now().UnixNano())
		}
	}
	l.forward()
	p.router.unpublish(up)
}

// subscribe starts sending up to this peer and renegotiates.
func (p *Peer) subscribe(up *UpTrack) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.publishOnly || p.downs[up] != nil {
		return
	}
	d := newDownTrack(up, p)
	if !up.attach(d) {
		return
	}
	t, err := p.pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		up.detach(d)
		p.log.Error("subscribe", "source", up.source, "publisher", up.owner.participant, "err", err)
		return
	}
	d.sender, d.transceiver = t.Sender(), t
	p.offered.Add(1)
	p.downs[up] = d
	p.listDowns()
	if p.rtcp != nil {
		p.rtcp.add(senderSSRC(t.Sender()), d)
	} else {
		go d.readRTCP()
	}
	p.offerLocked()
}

// listDowns publishes downs as downList. Called with p.mu held.
func (p *Peer) listDowns() {
	list := make([]*DownTrack, 0, len(p.downs))
	for _, d := range p.downs {
		list = append(list, d)
	}
	p.downList.Store(&list)
}

// unsubscribe stops sending up to this peer and renegotiates.
func (p *Peer) unsubscribe(up *UpTrack) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.downs[up]
	if d == nil {
		return
	}
	delete(p.downs, up)
	p.listDowns()
	up.detach(d)
	if p.rtcp != nil {
		p.rtcp.remove(senderSSRC(d.sender))
	}
	if p.closed {
		return
	}
	if err := p.pc.RemoveTrack(d.sender); err != nil {
		p.log.Debug("remove track", "err", err)
	}
	p.offerLocked()
}

// offerLocked notes that the client's subscriptions changed and asks for a
// turn to offer them.
func (p *Peer) offerLocked() {
	p.needOffer = true
	p.askTurnLocked()
}

// askTurnLocked sends Renegotiate if an offer is needed, none is under way
// and no turn has been asked for yet.
func (p *Peer) askTurnLocked() {
	if p.closed || !p.needOffer || p.askedTurn || p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		return
	}
	p.askedTurn = true
	p.sig.Renegotiate()
}

// Bounds on a client's session description, checked before anything
// parses it: parsing and applying one costs CPU in proportion to its media
// sections (a 3,000-m-line offer, a fifth of a second), and each new
// m-line becomes a transceiver for the rest of the call. A description
// carries every m-line negotiated so far: those the SFU offered (one per
// subscription) and those the client added, at most one sending m-line
// per source it publishes (4; the web client reuses them), twice over for
// slack. The bound is on the call, not per offer, so re-offers cannot
// grow it 8 at a time.
const (
	maxSDPBytes     = 1 << 20
	maxClientMLines = 8
)

// checkSize refuses a session description larger than a client sends.
func (p *Peer) checkSize(desc string) error {
	if len(desc) > maxSDPBytes {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrBadSDP, len(desc), maxSDPBytes)
	}
	if n, most := mediaSections(desc), int(p.offered.Load())+maxClientMLines; n > most {
		return fmt.Errorf("%w: %d media sections, more than %d", ErrBadSDP, n, most)
	}
	return nil
}

// mediaSections counts where a session description may hold an m-line:
// every "m=" at its start or after a line end or a blank. pion's parser
// starts a line's type right after the last field of a field-parsed line
// (so "t=0 0 m=audio ..." holds one) and after a bare \r, so counting
// lines would undercount; this count is never below pion's, and equals
// it in descriptions whose lines end \r\n or \n (checked by
// FuzzSessionDescription).
func mediaSections(desc string) int {
	n := 0
	for i := 0; ; {
		k := strings.Index(desc[i:], "m=")
		if k < 0 {
			return n
		}
		at := i + k
		if at == 0 || strings.IndexByte("\n\r \t", desc[at-1]) >= 0 {
			n++
		}
		i = at + 2
	}
}

// checkPublished validates a client's track list against its offer: known
// sources, each at most once, each on a sending m-line of the right kind.
// An offer with a section other than audio or video is refused: the SFU
// uses no data channel, and pion, given an m=application section, runs
// SCTP and keeps every data channel the client opens, with a read loop
// each, for the connection's life (found in review: 20,000 channels, a
// few dozen bytes each to open, held 114 MB of heap and 16,000
// goroutines; TestOfferWithADataChannelIsRefused).
func checkPublished(offer string, tracks []PublishedTrack) (map[string]Source, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	type mline struct {
		kind    webrtc.RTPCodecType
		sending bool
	}
	mids := make(map[string]mline)
	for _, md := range sd.MediaDescriptions {
		if m := md.MediaName.Media; m != "audio" && m != "video" {
			return nil, fmt.Errorf("%w: a %q section (only audio and video are taken)", ErrBadSDP, m)
		}
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		_, sendonly := md.Attribute("sendonly")
		_, sendrecv := md.Attribute("sendrecv")
		mids[mid] = mline{kind: webrtc.NewRTPCodecType(md.MediaName.Media), sending: sendonly || sendrecv}
	}
	out := make(map[string]Source, len(tracks))
	seen := make(map[Source]bool, len(tracks))
	for _, t := range tracks {
		m, ok := mids[t.Mid]
		switch {
		case !t.Source.Valid():
			return nil, fmt.Errorf("%w: unknown source %q", ErrBadTracks, t.Source)
		case seen[t.Source]:
			return nil, fmt.Errorf("%w: source %q published twice", ErrBadTracks, t.Source)
		case !ok:
			return nil, fmt.Errorf("%w: mid %q is not in the offer", ErrBadTracks, t.Mid)
		case out[t.Mid] != "":
			return nil, fmt.Errorf("%w: mid %q listed twice", ErrBadTracks, t.Mid)
		case m.kind != t.Source.Kind():
			return nil, fmt.Errorf("%w: mid %q is %s, source %q needs %s", ErrBadTracks, t.Mid, m.kind, t.Source, t.Source.Kind())
		case !m.sending:
			return nil, fmt.Errorf("%w: mid %q does not send", ErrBadTracks, t.Mid)
		}
		seen[t.Source] = true
		out[t.Mid] = t.Source
	}
	return out, nil
}
