package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// keyframeInterval is the least time between two keyframe requests sent to
// a publisher for one layer: each keyframe costs the publisher's uplink
// several normal frames, and one keyframe serves every subscriber that
// asked meanwhile.
const keyframeInterval = 500 * time.Millisecond

// videoCachePackets is how many packets of each published video layer are
// kept to answer NACKs: about 3 s of a 1.5 Mbit/s camera.
const videoCachePackets = 512

// UpTrack is one track a participant publishes, fanned out to subscribers.
// A simulcast track has several layers (encodings of the same camera at
// different sizes); every other track has one.
type UpTrack struct {
	owner  *Peer
	source Source
	mid    string
	kind   webrtc.RTPCodecType
	codec  webrtc.RTPCodecParameters
	// simulcast is set when the publisher sends RIDs; layers are then
	// chosen per subscriber.
	simulcast bool

	// audioLevelID is the publisher's header extension ID for audio levels,
	// 0 if not negotiated.
	audioLevelID uint8

	// feedback carries keyframe requests to the publisher: its
	// PeerConnection.
	feedback rtcpWriter

	// layers by quality, lowest first; set once each, read without a lock.
	layers [maxLayers]atomic.Pointer[layer]

	// downs is the current set of subscribers, replaced (never modified) on
	// change so that the forwarding loop reads it without a lock.
	downs atomic.Pointer[[]*DownTrack]

	// blocked stops forwarding: a host muted the microphone or stopped the
	// camera, and the server, not the client's good will, enforces it.
	blocked atomic.Bool

	// fanout serialises the writers of this track's DownTracks: the
	// layers' forwarding goroutines and retransmissions. It is taken once
	// per incoming packet, never per subscriber, and guards in and the
	// DownTracks' rewriting state.
	fanout sync.Mutex
	in     rtp.Header // the packet being forwarded, reused

	mu     sync.Mutex // guards changes to downs and closed
	closed bool

	closeOnce sync.Once
	done      chan struct{}
}

// rtcpWriter sends RTCP to a publisher; *webrtc.PeerConnection is one.
type rtcpWriter interface {
	WriteRTCP([]rtcp.Packet) error
}

// maxLayers is the number of simulcast layers accepted: rid "q" (quarter
// size), "h" (half) and "f" (full), see docs/protocol.md.
const maxLayers = 3

// layerIndex maps a RID to its layer, lowest quality first. A track sent
// without simulcast has rid "" and one layer.
func layerIndex(rid string) (int, bool) {
	switch rid {
	case "", "q":
		return 0, true
	case "h":
		return 1, true
	case "f":
		return 2, true
	}
	return 0, false
}

// layer is one encoding of an UpTrack: its own SSRC, sequence numbers,
// timestamps and packet cache.
type layer struct {
	up     *UpTrack
	index  int
	rid    string
	remote *webrtc.TrackRemote
	recv   *webrtc.RTPReceiver
	ssrc   uint32
	cache  *packetCache // nil for audio; used under up.fanout

	// Measured by the forwarding goroutine, read by the layer chooser.
	lastPacket atomic.Int64 // unix nanoseconds
	bytes      atomic.Uint64
	packets    atomic.Uint64
	width      atomic.Int32 // from the last key frame, 0 if unknown
	height     atomic.Int32

	// Owned by the layer chooser.
	lastBytes   uint64
	lastPackets uint64
	period      uint64        // packets in the last period
	bitrate     atomic.Uint64 // bits per second over the last period

	kmu                 sync.Mutex // guards keyframe throttling
	lastKeyframeRequest time.Time
	keyframePending     bool
}

func newUpTrack(owner *Peer, source Source, mid string, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *UpTrack {
	u := &UpTrack{
		owner:     owner,
		source:    source,
		mid:       mid,
		kind:      remote.Kind(),
		codec:     remote.Codec(),
		simulcast: remote.RID() != "",
		feedback:  owner.pc,
		done:      make(chan struct{}),
	}
	for _, ext := range recv.GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI {
			u.audioLevelID = uint8(ext.ID)
		}
	}
	u.downs.Store(&[]*DownTrack{})
	return u
}

// addLayer adds the encoding remote carries. It returns nil if the RID is
// unknown or its layer already exists.
func (u *UpTrack) addLayer(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *layer {
	i, ok := layerIndex(remote.RID())
	if !ok || (remote.RID() != "") != u.simulcast {
		return nil
	}
	l := &layer{up: u, index: i, rid: remote.RID(), remote: remote, recv: recv, ssrc: uint32(remote.SSRC())}
	if u.kind == webrtc.RTPCodecTypeVideo {
		l.cache = newPacketCache(videoCachePackets)
	}
	if !u.layers[i].CompareAndSwap(nil, l) {
		return nil
	}
	return l
}

// Participant returns the publisher's participant ID.
func (u *UpTrack) Participant() string { return u.owner.participant }

// Source returns what the track carries.
func (u *UpTrack) Source() Source { return u.source }

// Kind returns audio or video.
func (u *UpTrack) Kind() webrtc.RTPCodecType { return u.kind }

// Simulcast reports whether the publisher sends several layers.
func (u *UpTrack) Simulcast() bool { return u.simulcast }

// forward reads the layer's packets and fans each out to the subscribers,
// until the layer ends.
func (l *layer) forward() {
	go l.drainRTCP()
	buf := make([]byte, 1500)
	for {
		n, _, err := l.remote.Read(buf)
		if err != nil {
			return
		}
		l.up.route(l, buf[:n], time.Now().UnixNano())
	}
}

// drainRTCP reads the RTCP that arrives for this layer (sender reports) so
// that the interceptors see it and buffers do not fill.
func (l *layer) drainRTCP() {
	buf := make([]byte, 1500)
	for {
		if _, _, err := l.recv.ReadSimulcast(buf, l.rid); err != nil {
			return
		}
	}
}

// inPacket is what a DownTrack needs of a packet being forwarded.
type inPacket struct {
	hdr        *rtp.Header
	payload    []byte // without padding
	padding    byte   // padding length, 0 if none
	audioLevel []byte
	layer      int
	keyframe   bool  // starts a key frame
	at         int64 // arrival, unix nanoseconds
}

// route is the hot path: one packet from a publisher, written to every
// subscriber of its layer. It must not allocate.
func (u *UpTrack) route(l *layer, raw []byte, now int64) {
	u.fanout.Lock()
	hlen, err := u.in.Unmarshal(raw)
	if err != nil {
		u.fanout.Unlock()
		return
	}
	end := len(raw)
	var pad byte
	if u.in.Padding {
		pad = raw[end-1]
		if pad == 0 || int(pad) > end-hlen {
			u.fanout.Unlock()
			return
		}
		end -= int(pad)
	}
	p := inPacket{hdr: &u.in, payload: raw[hlen:end], padding: pad, layer: l.index, at: now}
	l.lastPacket.Store(now)
	l.bytes.Add(uint64(len(raw)))
	l.packets.Add(1)
	if l.cache != nil {
		l.cache.store(u.in.SequenceNumber, raw)
		p.keyframe = vp8Keyframe(p.payload)
		if p.keyframe {
			if w, h, ok := vp8Dimensions(p.payload); ok {
				l.width.Store(int32(w))
				l.height.Store(int32(h))
			}
		}
	}
	if u.blocked.Load() {
		u.fanout.Unlock()
		return
	}
	if u.audioLevelID != 0 {
		p.audioLevel = u.in.GetExtension(u.audioLevelID)
	}
	sent, bytes := 0, 0
	for _, d := range *u.downs.Load() {
		if n := d.forward(&p); n > 0 {
			sent++
			bytes += n
		}
	}
	u.fanout.Unlock()
	if sent > 0 {
		s := u.owner.router.sfu
		s.forwardedPackets.Add(uint64(sent))
		s.forwardedBytes.Add(uint64(bytes))
	}
}

// attach adds a subscriber. It reports false if the track has closed.
func (u *UpTrack) attach(d *DownTrack) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return false
	}
	old := *u.downs.Load()
	next := make([]*DownTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, d)
	u.downs.Store(&next)
	return true
}

// detach removes a subscriber.
func (u *UpTrack) detach(d *DownTrack) {
	u.mu.Lock()
	defer u.mu.Unlock()
	old := *u.downs.Load()
	next := make([]*DownTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	u.downs.Store(&next)
}

// close stops forwarding and returns the subscribers it had, for the caller
// to remove from their peers. Only the first call returns them.
func (u *UpTrack) close() []*DownTrack {
	var downs []*DownTrack
	u.closeOnce.Do(func() {
		u.mu.Lock()
		u.closed = true
		downs = *u.downs.Load()
		u.downs.Store(&[]*DownTrack{})
		u.mu.Unlock()
		close(u.done)
	})
	return downs
}

// isClosed reports whether close was called.
func (u *UpTrack) isClosed() bool {
	select {
	case <-u.done:
		return true
	default:
		return false
	}
}

// requestKeyframe asks the publisher for a keyframe on every layer.
func (u *UpTrack) requestKeyframe() {
	for i := range u.layers {
		if l := u.layers[i].Load(); l != nil {
			l.requestKeyframe()
		}
	}
}

// requestKeyframe asks the publisher for a keyframe of this layer, at most
// once per keyframeInterval; a request inside the interval is sent when it
// ends.
func (l *layer) requestKeyframe() {
	if l.up.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	l.kmu.Lock()
	if l.keyframePending || l.up.isClosed() {
		l.kmu.Unlock()
		return
	}
	wait := keyframeInterval - time.Since(l.lastKeyframeRequest)
	if wait > 0 {
		l.keyframePending = true
		l.kmu.Unlock()
		time.AfterFunc(wait, func() {
			l.kmu.Lock()
			l.keyframePending = false
			l.kmu.Unlock()
			l.requestKeyframe()
		})
		return
	}
	l.lastKeyframeRequest = time.Now()
	l.kmu.Unlock()
	_ = l.up.feedback.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}})
}
