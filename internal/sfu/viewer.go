package sfu

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Viewers: a peer that only receives, whose whole negotiation is one
// offer from the client and the SFU's answer (WHEP, internal/whip). A
// WHEP client (OBS, GStreamer's whepsrc, ffmpeg) offers at most one
// audio and one video section, and nothing can be added later, so a
// viewer does not get every published track as a participant does: it
// gets one audio and one video track, each the SFU's own (one SSRC, one
// continuous numbering), whose source changes under it.
//
//   - Audio is the active speaker's: every audio track of the meeting is
//     followed (its RFC 6464 audio level, as the publisher's browser
//     sends it), and the loudest, once louder than the one sent by a
//     margin, is switched to at its next packet. The SFU mixes nothing:
//     it never decodes media, so two people talking at once are heard
//     one at a time.
//   - Video is a screen being shared, if any, else the active speaker's
//     camera, else whichever camera is published; a switch starts at a
//     key frame of the new source, numbered on from the old (the
//     DownTrack's layer-switch rewriting, VP8 picture IDs included).
//
// A viewer's PeerConnection is not in the router's peers: it is never
// offered anything, and it looks at the router's tracks every
// viewerTick, not at each publish.

// viewerTick is how often a viewer looks for new tracks and the
// active speaker.
const viewerTick = 250 * time.Millisecond

// Speaker choice: a level is in -dBov (0 loudest, 127 silence); the
// loudness followed is 127 minus it, smoothed. Someone speaks above
// speechLoudness (quieter than -57 dBov is a room's noise), and takes
// over from the one sent when louder by switchMargin dB.
const (
	speechLoudness = 70
	switchMargin   = 6
)

// Viewer is a peer that receives a meeting's active speaker (see above).
type Viewer struct {
	router *Router
	peer   *Peer // for its DownTracks: its log, its connected flag
	pc     *webrtc.PeerConnection
	ended  func()

	audio, video *viewerTrack // nil where the client offered no such section

	mu        sync.Mutex // guards the fields below
	inputs    map[*UpTrack]*audioInput
	videoDown *DownTrack
	closed    bool

	mux audioMux

	done      chan struct{}
	closeOnce sync.Once
}

// AddViewer makes a viewer in the meeting for participant. ended is
// called, on its own goroutine, when its transport fails or closes.
// Answer takes its client's offer; Close ends it.
func (r *Router) AddViewer(participant string, ended func()) (*Viewer, error) {
	// Routes count the streams the viewer's client makes pion open, and
	// close the viewer past a bound (rtcpsink.go, flood.go): a WHEP
	// token's holder could make it open unbounded streams (review R3-4).
	routes := &rtcpRoutes{}
	pc, err := r.sfu.newPeerConnectionWithRoutes(routes)
	if err != nil {
		return nil, fmt.Errorf("new peer connection for %s: %w", participant, err)
	}
	v := &Viewer{router: r, pc: pc, ended: ended, inputs: map[*UpTrack]*audioInput{}, done: make(chan struct{})}
	v.peer = newPeer(r, participant, pc, nopSignaller{})
	v.peer.publishOnly = true
	v.peer.rtcp = routes
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		v.peer.log.Debug("viewer connection state", "state", s.String())
		switch s {
		case webrtc.PeerConnectionStateConnected:
			v.peer.connected.Store(true)
			v.mu.Lock()
			d := v.videoDown
			v.mu.Unlock()
			if d != nil {
				d.requestKeyframe()
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			if ended != nil {
				go ended()
			}
		}
	})
	return v, nil
}

// Answer takes the client's offer, whose recvonly sections were checked
// by the caller (audio and video say which it has), and returns the
// answer with every ICE candidate in it (the client takes none
// trickled).
func (v *Viewer) Answer(ctx context.Context, offer string, audio, video bool) (string, error) {
	if err := v.peer.checkSize(offer); err != nil {
		return "", err
	}
	add := func(kind webrtc.RTPCodecType, mime string) (*viewerTrack, error) {
		t := &viewerTrack{v: v, kind: kind, mime: mime}
		tr, err := v.pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, err
		}
		t.sender = tr.Sender()
		// Its RTCP is read by readRTCP, not handled by the routes.
		v.peer.rtcp.reads.Store(senderSSRC(t.sender), struct{}{})
		return t, nil
	}
	var err error
	if audio {
		if v.audio, err = add(webrtc.RTPCodecTypeAudio, webrtc.MimeTypeOpus); err != nil {
			return "", fmt.Errorf("viewer audio: %w", err)
		}
	}
	if video {
		if v.video, err = add(webrtc.RTPCodecTypeVideo, webrtc.MimeTypeVP8); err != nil {
			return "", fmt.Errorf("viewer video: %w", err)
		}
	}
	if err := v.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	answer, err := v.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	if err := v.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	select {
	case <-webrtc.GatheringCompletePromise(v.pc):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	for _, t := range []*viewerTrack{v.audio, v.video} {
		if t != nil {
			go v.readRTCP(t)
		}
	}
	v.refresh()
	go v.run()
	return v.pc.LocalDescription().SDP, nil
}

// ConnectionState is the state of the viewer's transport.
func (v *Viewer) ConnectionState() webrtc.PeerConnectionState { return v.pc.ConnectionState() }

// Speaker is the participant whose audio the viewer gets, "" if none.
func (v *Viewer) Speaker() string {
	v.mux.mu.Lock()
	defer v.mux.mu.Unlock()
	if v.mux.current == nil {
		return ""
	}
	return v.mux.current.Participant()
}

// Close ends the viewer; closing a closed one does nothing.
func (v *Viewer) Close() {
	v.closeOnce.Do(func() {
		close(v.done)
		v.mu.Lock()
		v.closed = true
		for up, in := range v.inputs {
			up.detach(in.down)
		}
		v.inputs = map[*UpTrack]*audioInput{}
		if d := v.videoDown; d != nil {
			d.up.detach(d)
			v.videoDown = nil
		}
		v.mu.Unlock()
		if err := v.pc.Close(); err != nil {
			v.peer.log.Debug("close viewer", "err", err)
		}
	})
}

func (v *Viewer) run() {
	t := time.NewTicker(viewerTick)
	defer t.Stop()
	for {
		select {
		case <-v.done:
			return
		case <-t.C:
		}
		v.refresh()
	}
}

// readRTCP answers the client's feedback on a track: NACKs from the
// video's cache, key frame requests to its publisher (throttled there).
func (v *Viewer) readRTCP(t *viewerTrack) {
	for {
		pkts, _, err := t.sender.ReadRTCP()
		if err != nil {
			return
		}
		if t.kind != webrtc.RTPCodecTypeVideo {
			continue
		}
		v.mu.Lock()
		d := v.videoDown
		v.mu.Unlock()
		if d == nil {
			continue
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				d.retransmit(p)
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.requestKeyframe()
			}
		}
	}
}

// refresh follows the router's tracks: an input for each new audio
// track, none for a closed one, then the speaker and the video chosen.
func (v *Viewer) refresh() {
	tracks := v.router.Tracks()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	if v.audio != nil {
		live := map[*UpTrack]bool{}
		for _, up := range tracks {
			if up.Kind() != webrtc.RTPCodecTypeAudio || up.isClosed() {
				continue
			}
			live[up] = true
			if v.inputs[up] == nil {
				v.addInputLocked(up)
			}
		}
		for up, in := range v.inputs {
			if !live[up] {
				up.detach(in.down)
				delete(v.inputs, up)
			}
		}
	}
	speaker := v.mux.choose(v.inputs)
	if v.video != nil {
		if up := chooseVideo(tracks, speaker, v.videoDown); up != nil && (v.videoDown == nil || v.videoDown.up != up) {
			v.switchVideoLocked(up)
		}
	}
}

// chooseVideo is what a viewer should see: a screen being shared (the
// one it sees, if still there), else the speaker's camera, else the
// camera it sees, else any camera.
func chooseVideo(tracks []*UpTrack, speaker string, cur *DownTrack) *UpTrack {
	var screen, speakers, current, first *UpTrack
	for _, up := range tracks {
		if up.Kind() != webrtc.RTPCodecTypeVideo || up.isClosed() {
			continue
		}
		isCur := cur != nil && cur.up == up
		if up.Source() == SourceScreen {
			if screen == nil || isCur {
				screen = up
			}
			continue
		}
		if speaker != "" && up.Participant() == speaker {
			speakers = up
		}
		if isCur {
			current = up
		}
		if first == nil {
			first = up
		}
	}
	for _, up := range []*UpTrack{screen, speakers, current} {
		if up != nil {
			return up
		}
	}
	return first
}

// switchVideoLocked sends up's video from its next key frame on,
// numbered on from what was sent. Called with v.mu held.
func (v *Viewer) switchVideoLocked(up *UpTrack) {
	d := newDownTrack(up, v.peer)
	d.paused = true // start on a key frame
	if old := v.videoDown; old != nil {
		old.up.detach(old)
		old.up.fanout.Lock() // a forward under way ends first
		old.binding.Store(nil)
		d.started, d.lastSeq, d.lastTS, d.lastAt = old.started, old.lastSeq, old.lastTS, old.lastAt
		d.picOut, d.tl0Out, d.picSent, d.tl0Sent = old.picOut, old.tl0Out, old.picSent, old.tl0Sent
		old.up.fanout.Unlock()
		v.videoDown = nil
	}
	if ctx := v.video.context(); ctx != nil {
		if _, err := d.Bind(ctx); err != nil {
			v.peer.log.Debug("viewer video", "err", err)
			return
		}
	}
	if !up.attach(d) {
		return
	}
	v.videoDown = d
}

// addInputLocked follows an audio track. Called with v.mu held.
func (v *Viewer) addInputLocked(up *UpTrack) {
	in := &audioInput{up: up, mux: &v.mux, out: v.audio}
	in.down = newDownTrack(up, v.peer)
	if ctx := v.audio.context(); ctx != nil {
		in.bind(ctx)
	}
	if up.attach(in.down) {
		v.inputs[up] = in
	}
}

// bound: the viewer's own track was bound (or unbound: nil); its
// DownTracks are bound to the same sender.
func (v *Viewer) bound(t *viewerTrack, ctx webrtc.TrackLocalContext) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if t == v.video && v.videoDown != nil {
		if ctx == nil {
			v.videoDown.binding.Store(nil)
		} else if _, err := v.videoDown.Bind(ctx); err != nil {
			v.peer.log.Debug("viewer video", "err", err)
		}
	}
	if t == v.audio {
		for _, in := range v.inputs {
			if ctx == nil {
				in.down.binding.Store(nil)
			} else {
				in.bind(ctx)
			}
		}
	}
}

// viewerTrack is a viewer's sending track: a webrtc.TrackLocal that
// writes nothing itself; the DownTrack of the source sent writes to its
// sender.
type viewerTrack struct {
	v      *Viewer
	kind   webrtc.RTPCodecType
	mime   string
	sender *webrtc.RTPSender
	ctx    atomic.Pointer[boundContext]
}

type boundContext struct{ webrtc.TrackLocalContext }

func (t *viewerTrack) context() webrtc.TrackLocalContext {
	if b := t.ctx.Load(); b != nil {
		return b.TrackLocalContext
	}
	return nil
}

// ID implements webrtc.TrackLocal.
func (t *viewerTrack) ID() string { return t.kind.String() }

// RID implements webrtc.TrackLocal.
func (t *viewerTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal: audio and video are one stream.
func (t *viewerTrack) StreamID() string { return "kaigi" }

// Kind implements webrtc.TrackLocal.
func (t *viewerTrack) Kind() webrtc.RTPCodecType { return t.kind }

// Bind implements webrtc.TrackLocal.
func (t *viewerTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, t.mime) {
			t.ctx.Store(&boundContext{ctx})
			t.v.bound(t, ctx)
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, errNoCodec
}

// Unbind implements webrtc.TrackLocal.
func (t *viewerTrack) Unbind(webrtc.TrackLocalContext) error {
	t.ctx.Store(nil)
	t.v.bound(t, nil)
	return nil
}

// audioInput is one audio track followed by a viewer: its DownTrack
// writes to the input, which notes the level and passes the packet on
// only while its track is the one sent.
type audioInput struct {
	up   *UpTrack
	down *DownTrack
	mux  *audioMux
	out  *viewerTrack
	// Guarded by mux.mu.
	loudness float64
	outLevel uint8 // the client's ID of the audio level extension; 0: none
}

// inputLevelID is the extension ID under which an input's DownTrack
// hands it the audio level.
const inputLevelID = 1

// bind binds the input's DownTrack with the viewer's sender, but writing
// to the input, with the audio level always carried.
func (in *audioInput) bind(ctx webrtc.TrackLocalContext) {
	var outLevel uint8
	for _, e := range ctx.HeaderExtensions() {
		if e.URI == audioLevelURI {
			outLevel = uint8(e.ID)
		}
	}
	in.mux.mu.Lock()
	in.outLevel = outLevel
	in.mux.mu.Unlock()
	if _, err := in.down.Bind(inputContext{TrackLocalContext: ctx, in: in}); err != nil {
		in.down.peer.log.Debug("viewer audio", "err", err)
	}
}

// inputContext is the viewer's audio sender's context, writing to an
// input, with the audio level under inputLevelID.
type inputContext struct {
	webrtc.TrackLocalContext
	in *audioInput
}

func (c inputContext) WriteStream() webrtc.TrackLocalWriter { return c.in }

func (c inputContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter {
	return []webrtc.RTPHeaderExtensionParameter{{URI: audioLevelURI, ID: inputLevelID}}
}

// WriteRTP implements webrtc.TrackLocalWriter: the DownTrack's packet,
// already with the viewer's SSRC and payload type.
func (in *audioInput) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	m := in.mux
	m.mu.Lock()
	defer m.mu.Unlock()
	loud := 0.0
	if ext := h.GetExtension(inputLevelID); len(ext) == 1 {
		loud = float64(127 - ext[0]&0x7f)
	}
	in.loudness = 0.8*in.loudness + 0.2*loud
	if m.current != in.up {
		return len(payload), nil
	}
	ctx := in.out.context()
	if ctx == nil {
		return 0, nil
	}
	now := time.Now().UnixNano()
	if m.switched {
		m.switched = false
		if m.started {
			step := uint32(960)
			if el := now - m.lastAt; el > 0 {
				step = max(step, uint32(el*48/1e6))
			}
			m.seqOff = m.lastSeq + 1 - h.SequenceNumber
			m.tsOff = m.lastTS + step - h.Timestamp
		} else {
			m.seqOff, m.tsOff = 0, 0
		}
	}
	h.SequenceNumber += m.seqOff
	h.Timestamp += m.tsOff
	if d := int16(h.SequenceNumber - m.lastSeq); d > 0 || !m.started {
		m.lastSeq, m.lastTS, m.lastAt, m.started = h.SequenceNumber, h.Timestamp, now, true
	}
	if level := h.GetExtension(inputLevelID); level != nil {
		h.DelExtension(inputLevelID)
		if in.outLevel != 0 {
			_ = h.SetExtension(in.outLevel, level)
		}
		h.Extension = len(h.Extensions) > 0
	}
	return ctx.WriteStream().WriteRTP(h, payload)
}

// Write implements webrtc.TrackLocalWriter; DownTracks write headers and
// payloads only.
func (in *audioInput) Write(b []byte) (int, error) { return len(b), nil }

// audioMux is a viewer's audio: which input it sends, and the offsets
// that keep its numbering continuous across switches.
type audioMux struct {
	mu       sync.Mutex
	current  *UpTrack
	switched bool
	started  bool
	seqOff   uint16
	tsOff    uint32
	lastSeq  uint16
	lastTS   uint32
	lastAt   int64
}

// choose picks the input to send: the loudest speaking one when it is
// louder than the current by switchMargin, the current while it lasts
// otherwise, any when there is none. It returns the participant sent.
func (m *audioMux) choose(inputs map[*UpTrack]*audioInput) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := inputs[m.current]
	var loudest *audioInput
	for _, in := range inputs {
		if loudest == nil || in.loudness > loudest.loudness {
			loudest = in
		}
	}
	best := cur
	if cur == nil || (loudest.loudness >= speechLoudness && loudest.loudness > cur.loudness+switchMargin) {
		best = loudest
	}
	var next *UpTrack
	if best != nil {
		next = best.up
	}
	if next != m.current {
		m.current, m.switched = next, true
	}
	if m.current == nil {
		return ""
	}
	return m.current.Participant()
}

// nopSignaller is a viewer's: it is never offered anything.
type nopSignaller struct{}

func (nopSignaller) Offer(string, []TrackInfo)         {}
func (nopSignaller) Answer(string)                     {}
func (nopSignaller) Candidate(webrtc.ICECandidateInit) {}
func (nopSignaller) Renegotiate()                      {}
