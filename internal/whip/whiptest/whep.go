package whiptest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// Viewer is a WHEP session from the client's side (draft-ietf-wish-whep),
// as a program watching a meeting (GStreamer's whepsrc, OBS) would make
// it: one audio and one video transceiver, recvonly, every candidate in
// the offer. It counts what arrives.
type Viewer struct {
	PC       *webrtc.PeerConnection
	Location string // the session's resource, absolute
	token    string

	audio, video atomic.Int64 // packets received

	mu       sync.Mutex
	last     map[webrtc.RTPCodecType]*rtp.Packet // the newest packet of each kind
	gap      map[webrtc.RTPCodecType]uint16      // the largest step forward in sequence numbers
	log      map[webrtc.RTPCodecType][]Packet    // what arrived, the first maxLog of each kind
	ssrcs    map[webrtc.RTPCodecType]map[uint32]bool
	arrived  chan struct{} // gets a value at each packet
	gone     chan struct{} // closed when the transport stops being connected
	goneOnce sync.Once
	keyframe atomic.Int64 // VP8 key frames received
}

// WatchOffer makes a viewer's offer: Opus and VP8, recvonly, candidates
// gathered. The Viewer is returned for Watch to finish.
func WatchOffer(ctx context.Context) (*Viewer, string, error) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return nil, "", err
	}
	v := &Viewer{PC: pc, gone: make(chan struct{}), last: map[webrtc.RTPCodecType]*rtp.Packet{}, gap: map[webrtc.RTPCodecType]uint16{}, log: map[webrtc.RTPCodecType][]Packet{}, ssrcs: map[webrtc.RTPCodecType]map[uint32]bool{}, arrived: make(chan struct{}, 1)}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, "", err
		}
	}
	var connected atomic.Bool // pion calls this on a goroutine per change
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connected.Store(true)
		case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			if connected.Load() {
				v.goneOnce.Do(func() { close(v.gone) })
			}
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			v.note(t.Kind(), p)
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	select {
	case <-webrtc.GatheringCompletePromise(pc):
	case <-ctx.Done():
		pc.Close()
		return nil, "", ctx.Err()
	}
	return v, pc.LocalDescription().SDP, nil
}

// vp8KeyFrameStart reports whether a VP8 RTP payload begins a key frame.
func vp8KeyFrameStart(payload []byte) bool {
	var vp8 codecs.VP8Packet
	frame, err := vp8.Unmarshal(payload)
	return err == nil && vp8.S == 1 && vp8.PID == 0 && len(frame) > 0 && frame[0]&0x01 == 0
}

// Packet is what the log keeps of a packet that arrived.
type Packet struct {
	Size int // of the payload
	// KeyFrame: the first packet of a VP8 key frame (a payload
	// descriptor starting partition 0, then a frame header whose bit 0
	// is clear).
	KeyFrame bool
	Seq      uint16
	TS       uint32
}

// maxLog bounds the packets logged of each kind.
const maxLog = 20000

// Log is what arrived of a kind, in order (the first maxLog packets).
func (v *Viewer) Log(kind webrtc.RTPCodecType) []Packet {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]Packet(nil), v.log[kind]...)
}

func (v *Viewer) note(kind webrtc.RTPCodecType, p *rtp.Packet) {
	v.mu.Lock()
	if prev := v.last[kind]; prev != nil {
		if d := p.SequenceNumber - prev.SequenceNumber; d < 1<<15 && d > v.gap[kind] {
			v.gap[kind] = d
		}
	}
	v.last[kind] = p
	key := kind == webrtc.RTPCodecTypeVideo && vp8KeyFrameStart(p.Payload)
	if len(v.log[kind]) < maxLog {
		v.log[kind] = append(v.log[kind], Packet{Size: len(p.Payload), KeyFrame: key, Seq: p.SequenceNumber, TS: p.Timestamp})
	}
	if v.ssrcs[kind] == nil {
		v.ssrcs[kind] = map[uint32]bool{}
	}
	v.ssrcs[kind][p.SSRC] = true
	v.mu.Unlock()
	if kind == webrtc.RTPCodecTypeVideo {
		v.video.Add(1)
		if key {
			v.keyframe.Add(1)
		}
	} else {
		v.audio.Add(1)
	}
	select {
	case v.arrived <- struct{}{}:
	default:
	}
}

// Watch offers to endpoint with token and, when the server takes the
// offer (201), applies its answer. A refusal is a *Refusal.
func Watch(ctx context.Context, endpoint, token string) (*Viewer, error) {
	v, offer, err := WatchOffer(ctx)
	if err != nil {
		return nil, err
	}
	if v.Location, err = exchange(ctx, v.PC, "whep", endpoint, token, offer); err != nil {
		return nil, err
	}
	v.token = token
	return v, nil
}

// Packets is how many audio and video packets arrived.
func (v *Viewer) Packets() (audio, video int64) { return v.audio.Load(), v.video.Load() }

// KeyFrames is how many VP8 key frames' first packets arrived.
func (v *Viewer) KeyFrames() int64 { return v.keyframe.Load() }

// Last is the newest packet of a kind, nil if none came.
func (v *Viewer) Last(kind webrtc.RTPCodecType) *rtp.Packet {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last[kind]
}

// Gap is the largest step forward between the sequence numbers of two
// packets of a kind in a row (1: none lost, none skipped).
func (v *Viewer) Gap(kind webrtc.RTPCodecType) uint16 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.gap[kind]
}

// SSRCs is how many SSRCs the packets of a kind came with.
func (v *Viewer) SSRCs(kind webrtc.RTPCodecType) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.ssrcs[kind])
}

// Gone is closed when the transport, once connected, stops being so (the
// server ended it, or it failed).
func (v *Viewer) Gone() <-chan struct{} { return v.gone }

// Arrived gets a value when a packet arrives (not one per packet).
func (v *Viewer) Arrived() <-chan struct{} { return v.arrived }

// Delete ends the session (DELETE on its resource) and returns the
// server's status.
func (v *Viewer) Delete(ctx context.Context) (int, error) {
	res, err := Do(ctx, http.MethodDelete, v.Location, v.token, "", "")
	if err != nil {
		return 0, err
	}
	return res.Status, nil
}

// Close stops the PeerConnection (without a DELETE).
func (v *Viewer) Close() { v.PC.Close() }
