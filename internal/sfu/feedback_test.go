package sfu

import (
	"bytes"
	"context"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// feedbackLoops are the goroutines of the interceptors that act on what
// a peer receives, which start with its first incoming stream
// (onRemoteStream).
var feedbackLoops = []string{
	"nack.(*GeneratorInterceptor).loop",
	"report.(*ReceiverInterceptor).loop",
	"twcc.(*SenderInterceptor).loop",
}

// runningLoops counts the goroutines running each of feedbackLoops.
func runningLoops(t *testing.T) map[string]int {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	n := make(map[string]int)
	for _, g := range strings.Split(b.String(), "\n\n") {
		for _, l := range feedbackLoops {
			if strings.Contains(g, l) {
				n[l]++
			}
		}
	}
	return n
}

// trickle is a Signaller that hands the SFU's answers and candidates to
// a pion client.
type trickle struct {
	client  *webrtc.PeerConnection
	answers chan string
}

func (s *trickle) Renegotiate()              {}
func (s *trickle) Offer(string, []TrackInfo) {}
func (s *trickle) Answer(sdp string)         { s.answers <- sdp }
func (s *trickle) Candidate(c webrtc.ICECandidateInit) {
	if c.Candidate != "" {
		go s.client.AddICECandidate(c) //nolint:errcheck // a test's loopback candidates
	}
}

// TestPublisherFeedback: a publisher still gets everything the SFU sends
// about its uplink (a NACK for a packet that never arrived, receiver
// reports and transport-wide congestion control feedback), while a peer
// that publishes nothing runs none of the loops that send them.
func TestPublisherFeedback(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")
	before := runningLoops(t)

	// The publisher: a client with only the TWCC sequence numbers a
	// browser adds, so every feedback loop counted is the SFU's.
	media := &webrtc.MediaEngine{}
	if err := media.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	ext, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	reg.Add(ext)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(media, reg); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(reg))
	c, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "camera", "pub")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := c.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}

	sig := &trickle{client: c, answers: make(chan string, 1)}
	pub, err := r.AddPeer("pub", sig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.close)
	c.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			go pub.AddCandidate(cand.ToJSON()) //nolint:errcheck // a test's loopback candidates
		}
	})
	// A peer that only subscribes (to the publisher's camera, once it
	// arrives).
	sub, err := r.AddPeer("sub", &answers{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.close)
	if got := runningLoops(t); !equalCounts(got, before) {
		t.Errorf("before anything is published: feedback loops %v, want %v", got, before)
	}

	offer, err := c.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := pub.HandleOffer(offer.SDP, []PublishedTrack{{c.GetTransceivers()[0].Mid(), SourceCamera}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: <-sig.answers}); err != nil {
		t.Fatal(err)
	}

	// What reaches the publisher about its camera.
	var mu sync.Mutex
	var nacked, reported, twccFeedback bool
	const missing = 40 // never sent
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			mu.Lock()
			for _, p := range pkts {
				switch p := p.(type) {
				case *rtcp.TransportLayerNack:
					for _, pair := range p.Nacks {
						nacked = nacked || pair.PacketList()[0] <= missing && missing <= pair.PacketList()[len(pair.PacketList())-1]
					}
				case *rtcp.ReceiverReport:
					reported = reported || len(p.Reports) > 0
				case *rtcp.TransportLayerCC:
					twccFeedback = true
				}
			}
			mu.Unlock()
		}
	}()
	done := func() bool { mu.Lock(); defer mu.Unlock(); return nacked && reported && twccFeedback }

	// Delta frames of one packet, 30 a second, sequence number 40 left
	// out, until everything has arrived.
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	seq := uint16(1)
	for !done() {
		select {
		case <-ctx.Done():
			mu.Lock()
			t.Fatalf("within 20 s the publisher got: a NACK for the missing packet %v, a receiver report %v, TWCC feedback %v",
				nacked, reported, twccFeedback)
		case <-tick.C:
		}
		if seq == missing {
			seq++
		}
		pkt := []byte{0x80, 96, byte(seq >> 8), byte(seq), 0, 0, byte(seq >> 8), byte(seq), 0, 0, 0, 1, 0x10, 0x01, 0, 0}
		if _, err := track.Write(pkt); err != nil {
			t.Fatal(err)
		}
		seq++
	}

	after := runningLoops(t)
	for _, l := range feedbackLoops {
		if after[l] != before[l]+1 {
			t.Errorf("%s: %d goroutines with one publisher and one subscriber, want %d (the publisher's only)", l, after[l], before[l]+1)
		}
	}
}

func equalCounts(a, b map[string]int) bool {
	for _, l := range feedbackLoops {
		if a[l] != b[l] {
			return false
		}
	}
	return true
}

// publishCamera joins a pion client to r as "pub", publishing one VP8
// camera track, and completes its offer and answer; ICE and DTLS go on
// in the background. The client, the track and the SFU's peer are
// closed when the test ends. It returns the track to write to.
func publishCamera(t *testing.T, r *Router) *webrtc.TrackLocalStaticRTP {
	t.Helper()
	track, _ := publishCameraPC(t, r)
	return track
}

// publishCameraPC is publishCamera, also returning the publisher's
// PeerConnection.
func publishCameraPC(t *testing.T, r *Router) (*webrtc.TrackLocalStaticRTP, *webrtc.PeerConnection) {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "camera", "pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	psig := &trickle{client: pc, answers: make(chan string, 1)}
	pub, err := r.AddPeer("pub", psig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.close)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			go pub.AddCandidate(c.ToJSON()) //nolint:errcheck // a test's loopback candidates
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := pub.HandleOffer(offer.SDP, []PublishedTrack{{pc.GetTransceivers()[0].Mid(), SourceCamera}}); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: <-psig.answers}); err != nil {
		t.Fatal(err)
	}
	return track, pc
}
