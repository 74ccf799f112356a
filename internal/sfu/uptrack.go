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
// a publisher: each keyframe costs the publisher's uplink several normal
// frames, and one keyframe serves every subscriber that asked meanwhile.
const keyframeInterval = 500 * time.Millisecond

// UpTrack is one track a participant publishes, fanned out to subscribers.
type UpTrack struct {
	owner  *Peer
	source Source
	mid    string
	remote *webrtc.TrackRemote
	recv   *webrtc.RTPReceiver

	// audioLevelID is the publisher's header extension ID for audio levels,
	// 0 if not negotiated.
	audioLevelID uint8

	// downs is the current set of subscribers, replaced (never modified) on
	// change so that the forwarding loop reads it without a lock.
	downs atomic.Pointer[[]*DownTrack]

	// blocked stops forwarding: a host muted the microphone or stopped the
	// camera, and the server, not the client's good will, enforces it.
	blocked atomic.Bool

	mu     sync.Mutex // guards changes to downs, closed and keyframe state
	closed bool
	// lastKeyframeRequest and keyframePending throttle requests.
	lastKeyframeRequest time.Time
	keyframePending     bool

	closeOnce sync.Once
	done      chan struct{}
}

func newUpTrack(owner *Peer, source Source, mid string, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *UpTrack {
	u := &UpTrack{
		owner:  owner,
		source: source,
		mid:    mid,
		remote: remote,
		recv:   recv,
		done:   make(chan struct{}),
	}
	for _, ext := range recv.GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI {
			u.audioLevelID = uint8(ext.ID)
		}
	}
	u.downs.Store(&[]*DownTrack{})
	return u
}

// Participant returns the publisher's participant ID.
func (u *UpTrack) Participant() string { return u.owner.participant }

// Source returns what the track carries.
func (u *UpTrack) Source() Source { return u.source }

// Kind returns audio or video.
func (u *UpTrack) Kind() webrtc.RTPCodecType { return u.remote.Kind() }

// forward reads the publisher's packets and writes each to every subscriber,
// until the track ends. It runs in its own goroutine, the only one that
// writes to this track's DownTracks.
func (u *UpTrack) forward() {
	defer u.owner.router.unpublish(u)
	go u.drainRTCP()

	stats := &u.owner.router.sfu.forwardedPackets
	bytes := &u.owner.router.sfu.forwardedBytes
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := u.remote.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if u.blocked.Load() {
			continue
		}
		var level []byte
		if u.audioLevelID != 0 {
			level = pkt.GetExtension(u.audioLevelID)
		}
		sent := 0
		for _, d := range *u.downs.Load() {
			if d.writeRTP(&pkt, level) {
				sent++
			}
		}
		if sent > 0 {
			stats.Add(uint64(sent))
			bytes.Add(uint64(sent * n))
		}
	}
}

// drainRTCP reads the RTCP that arrives for this track (sender reports) so
// that the interceptors see it and buffers do not fill.
func (u *UpTrack) drainRTCP() {
	buf := make([]byte, 1500)
	for {
		if _, _, err := u.recv.Read(buf); err != nil {
			return
		}
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

// requestKeyframe asks the publisher for a keyframe, at most once per
// keyframeInterval; a request inside the interval is sent when it ends.
func (u *UpTrack) requestKeyframe() {
	if u.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	u.mu.Lock()
	if u.closed || u.keyframePending {
		u.mu.Unlock()
		return
	}
	wait := keyframeInterval - time.Since(u.lastKeyframeRequest)
	if wait > 0 {
		u.keyframePending = true
		u.mu.Unlock()
		time.AfterFunc(wait, func() {
			u.mu.Lock()
			u.keyframePending = false
			u.mu.Unlock()
			u.requestKeyframe()
		})
		return
	}
	u.lastKeyframeRequest = time.Now()
	u.mu.Unlock()
	ssrc := uint32(u.remote.SSRC())
	_ = u.owner.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}
