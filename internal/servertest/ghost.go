package servertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Ghost plays a tampered server: a PeerConnection attached straight to a
// meeting's SFU router, bypassing signalling, the roster and the MLS group.
// It receives everything the SFU forwards (a tap on the media path) and
// can inject media of its own. End-to-end encryption must leave it with
// nothing it can decrypt, and clients must drop what it injects.
type Ghost struct {
	ID   string
	t    testing.TB
	pc   *webrtc.PeerConnection
	peer *sfu.Peer

	ops    chan func()
	done   chan struct{}
	closed atomic.Bool

	mu       sync.Mutex
	received map[string]*GhostTrack // by participant/source
	pending  []webrtc.ICECandidateInit
	tracks   map[string]sfu.TrackInfo
}

// GhostTrack is what the ghost receives of one participant's source.
type GhostTrack struct {
	Participant, Source string
	packets             atomic.Uint64
	mu                  sync.Mutex
	payloads            [][]byte
	kept                []Packet
}

// Packet is a received RTP packet's payload and framing.
type Packet struct {
	Marker    bool
	Timestamp uint32
	Payload   []byte
}

// keptPackets is how many packets a GhostTrack keeps: a few seconds of
// video, enough for a key frame and what follows.
const keptPackets = 600

// Kept returns copies of the first packets received.
func (g *GhostTrack) Kept() []Packet {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Packet(nil), g.kept...)
}

// Packets counts the RTP packets received.
func (g *GhostTrack) Packets() uint64 { return g.packets.Load() }

// Payloads returns copies of the first payloads.
func (g *GhostTrack) Payloads() [][]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]byte(nil), g.payloads...)
}

// Ghost attaches a ghost to a live meeting (someone must be in it).
func (s *Server) Ghost(t testing.TB, meetingID string) *Ghost {
	t.Helper()
	router := s.Signal().Router(meeting.ID(meetingID))
	if router == nil {
		t.Fatalf("ghost: meeting %s is not live", meetingID)
	}
	pc, err := client.DefaultAPI().NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	g := &Ghost{ID: "ghost" + hex.EncodeToString(b), t: t, pc: pc, ops: make(chan func(), 64), done: make(chan struct{}),
		received: map[string]*GhostTrack{}, tracks: map[string]sfu.TrackInfo{}}
	pc.OnTrack(g.onTrack)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			g.do(func() { _ = g.peer.AddCandidate(c.ToJSON()) })
		}
	})
	// Callbacks during AddPeer only queue (ops is buffered); the loop that
	// runs them starts once g.peer is set.
	g.peer, err = router.AddPeer(g.ID, g)
	if err != nil {
		t.Fatal(err)
	}
	go g.loop()
	t.Cleanup(g.Close)
	return g
}

// Close detaches the ghost.
func (g *Ghost) Close() {
	if g.closed.Swap(true) {
		return
	}
	close(g.ops)
	<-g.done
	g.pc.Close()
}

// loop runs negotiation steps one at a time, off the SFU's locks (the
// Signaller methods are called with the peer's lock held).
func (g *Ghost) loop() {
	defer close(g.done)
	for op := range g.ops {
		op()
	}
}

func (g *Ghost) do(op func()) {
	if !g.closed.Load() {
		g.ops <- op
	}
}

// Renegotiate implements sfu.Signaller: grant the server its turn.
func (g *Ghost) Renegotiate() { g.do(func() { g.failed(g.peer.HandleReady()) }) }

// Offer implements sfu.Signaller.
func (g *Ghost) Offer(sdp string, tracks []sfu.TrackInfo) {
	g.do(func() {
		g.mu.Lock()
		for _, t := range tracks {
			g.tracks[t.Mid] = t
		}
		g.mu.Unlock()
		if err := g.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			g.failed(err)
			return
		}
		g.flushCandidates()
		answer, err := g.pc.CreateAnswer(nil)
		if err == nil {
			err = g.pc.SetLocalDescription(answer)
		}
		if err == nil {
			err = g.peer.HandleAnswer(answer.SDP)
		}
		g.failed(err)
	})
}

// failed reports a negotiation error, unless the meeting simply ended
// under the ghost (everyone left).
func (g *Ghost) failed(err error) {
	if err != nil && !errors.Is(err, sfu.ErrPeerClosed) && !errors.Is(err, webrtc.ErrConnectionClosed) {
		g.t.Errorf("ghost: %v", err)
	}
}

// Answer implements sfu.Signaller (the answer to an Inject offer).
func (g *Ghost) Answer(sdp string) {
	g.do(func() {
		g.failed(g.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}))
		g.flushCandidates()
	})
}

// Candidate implements sfu.Signaller.
func (g *Ghost) Candidate(c webrtc.ICECandidateInit) {
	if c.Candidate == "" {
		return
	}
	g.do(func() {
		if g.pc.RemoteDescription() == nil {
			g.pending = append(g.pending, c)
			return
		}
		_ = g.pc.AddICECandidate(c)
	})
}

func (g *Ghost) flushCandidates() {
	for _, c := range g.pending {
		_ = g.pc.AddICECandidate(c)
	}
	g.pending = nil
}

func (g *Ghost) onTrack(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	mid := ""
	for _, t := range g.pc.GetTransceivers() {
		if t.Receiver() == recv {
			mid = t.Mid()
		}
	}
	g.mu.Lock()
	info := g.tracks[mid]
	gt := &GhostTrack{Participant: info.Participant, Source: string(info.Source)}
	g.received[info.Participant+"/"+string(info.Source)] = gt
	g.mu.Unlock()
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		gt.packets.Add(1)
		if pkt.Unmarshal(buf[:n]) == nil {
			gt.mu.Lock()
			if len(gt.payloads) < 64 {
				gt.payloads = append(gt.payloads, append([]byte(nil), pkt.Payload...))
			}
			if len(gt.kept) < keptPackets {
				gt.kept = append(gt.kept, Packet{Marker: pkt.Marker, Timestamp: pkt.Timestamp, Payload: append([]byte(nil), pkt.Payload...)})
			}
			gt.mu.Unlock()
		}
	}
}

// Track returns what the ghost receives of a participant's source, or nil.
func (g *Ghost) Track(participant, source string) *GhostTrack {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.received[participant+"/"+source]
}

// Inject publishes a track as source from the ghost and writes the frames
// frame() returns, 30 a second, until ctx ends. The SFU forwards it to
// everyone, as a tampered server could.
func (g *Ghost) Inject(ctx context.Context, source sfu.Source, frame func(n int) []byte) {
	g.inject(ctx, source, func(n int) []Packet {
		return []Packet{{Marker: true, Timestamp: uint32(n * 3000), Payload: frame(n)}}
	})
}

// Replay publishes a track as source from the ghost and sends packets (for
// example real media captured elsewhere) again and again, a frame each
// 1/30 s, until ctx ends.
func (g *Ghost) Replay(ctx context.Context, source sfu.Source, packets []Packet) {
	var frames [][]Packet
	var cur []Packet
	for _, p := range packets {
		cur = append(cur, p)
		if p.Marker {
			frames = append(frames, cur)
			cur = nil
		}
	}
	if len(frames) == 0 {
		g.t.Fatal("ghost replay: no complete frame")
	}
	g.inject(ctx, source, func(n int) []Packet {
		f := frames[n%len(frames)]
		out := make([]Packet, len(f))
		for i, p := range f {
			out[i] = Packet{Marker: p.Marker, Timestamp: uint32(n * 3000), Payload: p.Payload}
		}
		return out
	})
}

func (g *Ghost) inject(ctx context.Context, source sfu.Source, frame func(n int) []Packet) {
	codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	if source.Kind() == webrtc.RTPCodecTypeAudio {
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	}
	track, err := webrtc.NewTrackLocalStaticRTP(codec, string(source), g.ID)
	if err != nil {
		g.t.Fatal(err)
	}
	ready := make(chan struct{})
	g.do(func() {
		defer close(ready)
		tr, err := g.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			g.t.Errorf("ghost inject: %v", err)
			return
		}
		offer, err := g.pc.CreateOffer(nil)
		if err == nil {
			err = g.pc.SetLocalDescription(offer)
		}
		if err == nil {
			err = g.peer.HandleOffer(offer.SDP, []sfu.PublishedTrack{{Mid: tr.Mid(), Source: source}})
		}
		if err != nil {
			g.t.Errorf("ghost inject: %v", err)
		}
	})
	<-ready
	go func() {
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		var seq uint16
		for n := 0; ; n++ {
			for _, p := range frame(n) {
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: p.Marker, SequenceNumber: seq, Timestamp: p.Timestamp}, Payload: p.Payload}
				seq++
				_ = track.WriteRTP(pkt)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}
