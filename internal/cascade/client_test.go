package cascade

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// client is a participant's pion client of one node's SFU, negotiating as
// the web client does (the server offers only in a turn the client
// grants). Signaller calls are queued and run in order on the client's
// goroutine.
type client struct {
	t    *testing.T
	pc   *webrtc.PeerConnection
	peer *sfu.Peer

	queue   chan func()
	done    chan struct{}
	pending []webrtc.ICECandidateInit // the server's, before its description

	mu  sync.Mutex
	got map[uint32][]byte // video payloads received, by the index written in them
}

func newClient(t *testing.T, r *sfu.Router, participant string) *client {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, pc: pc, queue: make(chan func(), 1024), done: make(chan struct{}), got: make(map[uint32][]byte)}
	p, err := r.AddPeer(participant, c)
	if err != nil {
		t.Fatal(err)
	}
	c.peer = p
	pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci != nil {
			init := ci.ToJSON()
			c.do(func() { _ = c.peer.AddCandidate(init) })
		}
	})
	pc.OnTrack(c.receive)
	go func() {
		for {
			select {
			case f := <-c.queue:
				f()
			case <-c.done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(c.done); _ = pc.Close() })
	return c
}

func (c *client) do(f func()) {
	select {
	case c.queue <- f:
	case <-c.done:
	}
}

func (c *client) Renegotiate() { c.do(func() { _ = c.peer.HandleReady() }) }

func (c *client) Offer(offer string, _ []sfu.TrackInfo) {
	c.do(func() {
		if c.setRemote(webrtc.SDPTypeOffer, offer) != nil {
			return
		}
		answer, err := c.pc.CreateAnswer(nil)
		if err == nil {
			err = c.pc.SetLocalDescription(answer)
		}
		if err == nil {
			err = c.peer.HandleAnswer(answer.SDP)
		}
		// A peer the test removed meanwhile is closed: not an error.
		if err != nil && !errors.Is(err, sfu.ErrPeerClosed) {
			c.t.Errorf("client answer: %v", err)
		}
	})
}

func (c *client) Answer(answer string) {
	c.do(func() { _ = c.setRemote(webrtc.SDPTypeAnswer, answer) })
}

func (c *client) Candidate(ci webrtc.ICECandidateInit) {
	c.do(func() {
		switch {
		case ci.Candidate == "":
		case c.pc.RemoteDescription() == nil:
			c.pending = append(c.pending, ci)
		default:
			_ = c.pc.AddICECandidate(ci)
		}
	})
}

func (c *client) setRemote(typ webrtc.SDPType, desc string) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: desc}); err != nil {
		select {
		case <-c.done: // the test is over: its connection closed under a queued description
		default:
			c.t.Errorf("client: set remote %s: %v", typ, err)
		}
		return err
	}
	for _, ci := range c.pending {
		_ = c.pc.AddICECandidate(ci)
	}
	c.pending = nil
	return nil
}

// camera is a test publisher's camera track.
type camera struct {
	track *webrtc.TrackLocalStaticRTP
	seq   uint16
	ts    uint32
}

// publishCamera offers a VP8 camera track.
func (c *client) publishCamera() *camera {
	c.t.Helper()
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "camera", "stream")
	if err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	c.do(func() {
		tr, err := c.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			done <- err
			return
		}
		go func() { // the RTCP the server sends, read so that buffers do not fill
			for {
				if _, _, err := tr.Sender().ReadRTCP(); err != nil {
					return
				}
			}
		}()
		offer, err := c.pc.CreateOffer(nil)
		if err == nil {
			err = c.pc.SetLocalDescription(offer)
		}
		if err == nil {
			err = c.peer.HandleOffer(offer.SDP, []sfu.PublishedTrack{{Mid: tr.Mid(), Source: sfu.SourceCamera}})
		}
		done <- err
	})
	if err := <-done; err != nil {
		c.t.Fatalf("publish: %v", err)
	}
	return &camera{track: track}
}

// write sends one packet, its own frame.
func (cam *camera) write(payload []byte) error {
	cam.seq++
	cam.ts += 3000
	return cam.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: cam.seq, Timestamp: cam.ts}, Payload: payload})
}

func (c *client) receive(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) < 5 || remote.Kind() != webrtc.RTPCodecTypeVideo {
			continue
		}
		i := binary.BigEndian.Uint32(pkt.Payload[1:])
		c.mu.Lock()
		c.got[i] = append([]byte(nil), pkt.Payload...)
		c.mu.Unlock()
	}
}

// payloads returns the video payloads received, by index.
func (c *client) payloads() map[uint32][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[uint32][]byte, len(c.got))
	for i, p := range c.got {
		out[i] = p
	}
	return out
}
