package sfu

import (
	"encoding/binary"
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
	// clock times the key frame throttle (nil: the real one); starts
	// schedules the key frames simulcast joiners start on (startframe.go).
	clock  clock
	starts startScheduler

	// layers by quality, lowest first; set once each, read without a lock.
	layers [maxLayers]atomic.Pointer[layer]

	// downs is the current set of subscribers, replaced (never modified) on
	// change so that the forwarding loop reads it without a lock.
	downs atomic.Pointer[[]*DownTrack]
	// relays are the other nodes it is relayed to, replaced as downs is
	// (nil: none); relayed is set on a track that came from another node
	// (from), which only a meeting's node relays on, to the others
	// (relay.go).
	relays  atomic.Pointer[[]*relayTrack]
	relayed bool
	from    string

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
	seq    seqGuard     // used under up.fanout

	// batch holds the packets of the video frame being received (one
	// timestamp), forwarded together when its last packet (the marker)
	// arrives, so that each subscriber's state, from its DownTrack down to
	// its socket, is touched once a frame rather than once a packet. Used
	// under up.fanout; nil for audio.
	batch *frameBatch

	// Measured by the forwarding goroutine, read by the layer chooser.
	// lastPacket is when the layer last carried new media (unix
	// nanoseconds): a packet routed with payload left after its padding,
	// newer than any routed before. A paused layer still carries packets:
	// libwebrtc probes its uplink with padding-only packets on the SSRCs
	// it has sent media on (RTX is not negotiated), and answers NACKs for
	// what it sent before; a layer counted live for those would be
	// chosen, and a key frame asked of it, for as long as the encoder
	// left it without frames.
	// bytes and packets count every packet: padding is forwarded, and
	// costs a subscriber's path as media does.
	lastPacket atomic.Int64
	bytes      atomic.Uint64
	packets    atomic.Uint64
	width      atomic.Int32 // from the last key frame, 0 if unknown
	height     atomic.Int32

	// Owned by the layer chooser.
	lastBytes   uint64
	lastPackets uint64
	period      uint64        // packets in the last period
	measured    bool          // bitrate has a first measurement
	bitrate     atomic.Uint64 // bits per second, smoothed (see measure)

	kmu                 sync.Mutex // guards keyframe throttling
	lastKeyframeRequest time.Time
	keyframePending     bool
	keyframeDue         time.Time // when a pending request is sent
	// lastKeyframe is when the last key frame arrived (unix nanoseconds):
	// a request sent after it is still coming.
	lastKeyframe atomic.Int64
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
		l.batch = &frameBatch{}
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
	if routes := l.up.owner.rtcp; routes != nil {
		// The peer's SRTCP sinks run the layer's RTCP through its
		// interceptors as it arrives (rtcpsink.go): no reader of its own.
		routes.addLayer(l)
		defer routes.removeLayer(l)
	} else {
		go l.drainRTCP()
	}
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
// that the interceptors see it and buffers do not fill; for a peer made
// without rtcpRoutes (tests), whose RTCP streams are pion's buffers.
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

// batchPackets bounds a frame batch: a larger frame goes out in parts, so
// that a subscriber is never sent more than this many packets back to back
// (about 10 KB), a burst of the order a browser's own pacer sends.
const batchPackets = 8

// maxLateTicks is how far behind the current frame a packet may be (5 s of
// a 90 kHz clock) and still count as late rather than as a timestamp jump.
const maxLateTicks = 5 * 90000

// frameBatch is the part of a video frame received so far. Its packets'
// bytes are the layer's packet cache's copies (see packetCache.store),
// intact until the batch is sent: the batch has no buffers of its own, and
// a layer with a batch has a cache.
type frameBatch struct {
	n        int
	first    uint64 // the cache position of the first packet
	ts       uint32 // the frame's timestamp
	started  bool   // ts is set
	complete bool   // the frame's marker has been sent
	pkts     [batchPackets]inPacket
	hdrs     [batchPackets]rtp.Header
}

// route is the hot path: one packet from a publisher, written to every
// subscriber of its layer; video waits for the rest of its frame (see
// layer.batch). It must not allocate.
func (u *UpTrack) route(l *layer, raw []byte, now int64) {
	u.fanout.Lock()
	defer u.fanout.Unlock()
	l.bytes.Add(uint64(len(raw)))
	l.packets.Add(1)
	if len(raw) < 12 {
		return
	}
	ext, ok := l.seq.check(binary.BigEndian.Uint16(raw[2:]))
	if !ok {
		return
	}
	hdr, buf := &u.in, raw
	b := l.batch
	if b != nil {
		if len(raw) < 12 || len(raw) > cacheSlotSize {
			return
		}
		// The batch's packets are the cache's copies: it goes out before
		// what is stored meanwhile (publisher retransmissions, late
		// packets) could overwrite them.
		if b.n > 0 && !l.cache.keeps(b.first) {
			u.flush(l)
		}
		ts := binary.BigEndian.Uint32(raw[4:])
		// A retransmission, or a packet late for a frame already sent,
		// goes out at once, alone; a packet of a new frame sends what is
		// left of the last (whose marker was lost).
		if age := int32(b.ts - ts); b.started && ((age > 0 && age < maxLateTicks) || (age == 0 && b.complete)) {
			b = nil
		} else {
			if b.n == batchPackets || (b.n > 0 && ts != b.ts) {
				u.flush(l)
			}
			hdr = &b.hdrs[b.n]
		}
	}
	if l.cache != nil {
		if len(raw) < 12 {
			return
		}
		// The cache's copy is the one forwarded: the read buffer is
		// reused for the next packet while the batch waits.
		buf = l.cache.store(binary.BigEndian.Uint16(raw[2:]), raw, now)
		if b != nil && b.n == 0 {
			b.first = l.cache.head - uint64(len(buf))
		}
	}
	hlen, err := hdr.Unmarshal(buf)
	if err != nil {
		u.forget(l, raw)
		return
	}
	end := len(buf)
	var pad byte
	if hdr.Padding {
		pad = buf[end-1]
		if pad == 0 || int(pad) > end-hlen {
			u.forget(l, raw)
			return
		}
		end -= int(pad)
	}
	// New media keeps the layer live: not padding, and not an old packet
	// sent again (the SFU NACKs publishers' losses, and a paused layer
	// answers them from its history), which is behind the newest routed.
	if end > hlen && (!l.seq.any || ext > l.seq.newest) {
		l.lastPacket.Store(now)
	}
	l.seq.routed(ext)
	p := inPacket{hdr: hdr, payload: buf[hlen:end], padding: pad, layer: l.index, at: now}
	if u.audioLevelID != 0 {
		p.audioLevel = hdr.GetExtension(u.audioLevelID)
	}
	if l.cache != nil {
		p.keyframe = vp8Keyframe(p.payload)
		if p.keyframe {
			l.lastKeyframe.Store(now)
			if w, h, ok := vp8Dimensions(p.payload); ok {
				l.width.Store(int32(w))
				l.height.Store(int32(h))
			}
		}
	}
	if b == nil {
		one := [1]inPacket{p}
		u.send(one[:])
		return
	}
	if b.n == 0 {
		b.ts, b.started, b.complete = hdr.Timestamp, true, false
	}
	b.pkts[b.n] = p
	b.n++
	if hdr.Marker {
		u.flush(l)
		b.complete = true
	}
}

// forget drops from the layer's cache a packet stored but not forwarded
// (a malformed one), so that no NACK sends it.
func (u *UpTrack) forget(l *layer, raw []byte) {
	if l.cache != nil {
		l.cache.forget(binary.BigEndian.Uint16(raw[2:]))
	}
}

// flush sends the layer's batch. Called with u.fanout held.
func (u *UpTrack) flush(l *layer) {
	b := l.batch
	n := b.n
	b.n = 0
	u.send(b.pkts[:n])
}

// send writes packets, in order, to each subscriber in turn, inside one
// batch scope: what the subscribers' sockets are given leaves together,
// in as few system calls as the kernel allows, when the scope closes (see
// batcher). Called with u.fanout held.
func (u *UpTrack) send(pkts []inPacket) {
	if len(pkts) == 0 || u.blocked.Load() {
		return
	}
	s := u.owner.router.sfu
	s.batch.begin()
	defer s.batch.end()
	sent, bytes := 0, 0
	for _, d := range *u.downs.Load() {
		for i := range pkts {
			if n := d.forward(&pkts[i]); n > 0 {
				sent++
				bytes += n
			}
		}
	}
	n, b := u.relay(pkts)
	sent, bytes = sent+n, bytes+b
	if sent > 0 {
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
// once per keyframeInterval (and, for a simulcast track, at most one
// layer's per keyframeSlot); a request inside the interval is sent when it
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
	now := l.up.now()
	// A simulcast track's layers take turns (keyframeSlot).
	at := l.up.keyframeSlot(l.index, now, l.lastKeyframeRequest.Add(keyframeInterval))
	if wait := at.Sub(now); wait > 0 {
		l.keyframePending, l.keyframeDue = true, at
		l.kmu.Unlock()
		l.up.afterFunc(wait, func() {
			l.kmu.Lock()
			l.keyframePending = false
			l.kmu.Unlock()
			l.requestKeyframe()
		})
		return
	}
	l.lastKeyframeRequest = now
	l.kmu.Unlock()
	_ = l.up.feedback.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: l.ssrc}})
}
