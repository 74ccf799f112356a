package sfu

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Local viewers: a Viewer (viewer.go) whose two tracks are bound not to a
// client's PeerConnection but to a function of the server's own (the
// server-side recorder, internal/recorder). It chooses what it receives
// as a WHEP viewer does (the active speaker's audio; a shared screen,
// else the speaker's camera, switched at a key frame and numbered on),
// so that what it is handed is one continuous Opus stream and one
// continuous VP8 stream.

// LocalSink receives a local viewer's packets: video or audio, the
// header and payload as the SFU rewrote them. It is called with the
// source track's fan-out lock held and must not block or keep h or
// payload (both are reused after it returns): copy what it needs.
type LocalSink func(video bool, h *rtp.Header, payload []byte)

// Local viewer SSRCs and payload types: no peer sees them, only the sink.
const (
	localAudioSSRC = 1
	localVideoSSRC = 2
	localOpusPT    = 111
	localVP8PT     = 96
)

// AddLocalViewer makes a viewer in the meeting, named participant in the
// log, that hands every packet it is sent to sink. It starts at once;
// Close ends it.
func (r *Router) AddLocalViewer(participant string, sink LocalSink) (*Viewer, error) {
	v, err := r.AddViewer(participant, nil)
	if err != nil {
		return nil, err
	}
	v.peer.connected.Store(true) // its key frame requests go out at once
	v.audio = &viewerTrack{v: v, kind: webrtc.RTPCodecTypeAudio, mime: webrtc.MimeTypeOpus}
	v.video = &viewerTrack{v: v, kind: webrtc.RTPCodecTypeVideo, mime: webrtc.MimeTypeVP8}
	for _, t := range []*viewerTrack{v.audio, v.video} {
		if _, err := t.Bind(localContext{video: t == v.video, sink: sink}); err != nil {
			v.Close()
			return nil, err
		}
	}
	v.refresh()
	go v.run()
	return v, nil
}

// RequestKeyframe asks the publisher of the video the viewer gets for a
// key frame (throttled there), as a client's picture loss indication
// does: a local sink that lost a frame cannot go on without one.
func (v *Viewer) RequestKeyframe() {
	v.mu.Lock()
	d := v.videoDown
	v.mu.Unlock()
	if d != nil {
		d.requestKeyframe()
	}
}

// Video is the participant whose video the viewer gets, "" if none.
func (v *Viewer) Video() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.videoDown == nil {
		return ""
	}
	return v.videoDown.up.Participant()
}

// localContext is a local viewer track's binding: its codec, no header
// extensions, and a writer that calls the sink.
type localContext struct {
	video bool
	sink  LocalSink
}

func (c localContext) CodecParameters() []webrtc.RTPCodecParameters {
	if c.video {
		return []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: localVP8PT}}
	}
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: localOpusPT}}
}

func (c localContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }

func (c localContext) SSRC() webrtc.SSRC {
	if c.video {
		return localVideoSSRC
	}
	return localAudioSSRC
}

func (c localContext) SSRCRetransmission() webrtc.SSRC         { return 0 }
func (c localContext) SSRCForwardErrorCorrection() webrtc.SSRC { return 0 }
func (c localContext) ID() string                              { return "local" }
func (c localContext) RTCPReader() interceptor.RTCPReader      { return nil }

func (c localContext) WriteStream() webrtc.TrackLocalWriter { return localWriter(c) }

// localWriter implements webrtc.TrackLocalWriter for a local viewer.
type localWriter localContext

func (w localWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.sink(w.video, h, payload)
	return len(payload), nil
}

func (w localWriter) Write(b []byte) (int, error) { return len(b), nil }
