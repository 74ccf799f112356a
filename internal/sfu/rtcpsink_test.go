package sfu

import (
	"bytes"
	"context"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// subscriberSignals plays a subscriber's client: it grants the SFU its
// turns and answers its offers, off the peer's lock.
type subscriberSignals struct {
	client *webrtc.PeerConnection
	peer   chan *Peer
	t      *testing.T
}

func (s *subscriberSignals) Renegotiate() {
	go func() {
		if err := (<-s.wait()).HandleReady(); err != nil {
			s.t.Log("ready:", err)
		}
	}()
}

// wait returns a channel that yields the peer once AddPeer returned it.
func (s *subscriberSignals) wait() chan *Peer {
	p := <-s.peer
	s.peer <- p
	ch := make(chan *Peer, 1)
	ch <- p
	return ch
}

func (s *subscriberSignals) Offer(sdp string, _ []TrackInfo) {
	go func() {
		p := <-s.wait()
		if err := s.client.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			s.t.Log("offer:", err)
			return
		}
		answer, err := s.client.CreateAnswer(nil)
		if err == nil {
			err = s.client.SetLocalDescription(answer)
		}
		if err == nil {
			err = p.HandleAnswer(answer.SDP)
		}
		if err != nil {
			s.t.Log("answer:", err)
		}
	}()
}

func (s *subscriberSignals) Answer(string) {}

func (s *subscriberSignals) Candidate(c webrtc.ICECandidateInit) {
	if c.Candidate != "" {
		go s.client.AddICECandidate(c) //nolint:errcheck // a test's loopback candidates
	}
}

// TestSubscriberFeedbackWithoutReaders: a subscriber's NACKs and REMB
// reach its DownTrack, handled as its PeerConnection decrypts them, with
// no reader goroutine per DownTrack.
func TestSubscriberFeedbackWithoutReaders(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")

	// The subscriber joins first; the publisher's camera comes to it.
	sc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	ssig := &subscriberSignals{client: sc, peer: make(chan *Peer, 1), t: t}
	sub, err := r.AddPeer("sub", ssig)
	if err != nil {
		t.Fatal(err)
	}
	ssig.peer <- sub
	t.Cleanup(sub.close)
	sc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			go sub.AddCandidate(c.ToJSON()) //nolint:errcheck // a test's loopback candidates
		}
	})
	arrived := make(chan *webrtc.TrackRemote, 1)
	sc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		arrived <- tr
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
		}
	})

	track := publishCamera(t, r)

	// Key frames, 30 a second, until the test ends.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go writeKeyFrames(ctx, track)

	var remote *webrtc.TrackRemote
	select {
	case remote = <-arrived:
	case <-ctx.Done():
		t.Fatal("the subscriber got no track within 30 s")
	}
	var d *DownTrack
	for _, x := range *sub.downList.Load() {
		d = x
	}
	if d == nil {
		t.Fatal("the subscriber has no DownTrack")
	}

	// A REMB and a NACK for the first packets, until both have been
	// handled.
	ssrc := uint32(remote.SSRC())
	fb := []rtcp.Packet{
		&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 123456, SSRCs: []uint32{ssrc}},
		&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{5})},
	}
	for d.estimate.Load() != 123456 || d.nacked.Load() == 0 {
		if err := sc.WriteRTCP(fb); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("within 30 s: estimate %d, NACKed %d; want 123456 and some", d.estimate.Load(), d.nacked.Load())
		case <-time.After(50 * time.Millisecond):
		}
	}

	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "(*DownTrack).readRTCP"); n != 0 {
		t.Errorf("%d DownTrack RTCP reader goroutines, want none", n)
	}
}

// TestPublisherSenderReportsWithoutReaders: the publisher's sender reports
// reach the SFU's receiver-report interceptor, handled as its
// PeerConnection decrypts them, with no reader goroutine per published
// layer: the receiver reports the publisher gets echo its sender reports'
// times (LastSenderReport), which the interceptor takes only from a sender
// report it has read.
func TestPublisherSenderReportsWithoutReaders(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")
	track, pc := publishCameraPC(t, r)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go writeKeyFrames(ctx, track)

	sender := pc.GetSenders()[0]
	ssrc := uint32(sender.GetParameters().Encodings[0].SSRC)
	got := make(chan uint32, 1)
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				rr, ok := p.(*rtcp.ReceiverReport)
				if !ok {
					continue
				}
				for _, rep := range rr.Reports {
					if rep.SSRC == ssrc && rep.LastSenderReport != 0 {
						select {
						case got <- rep.LastSenderReport:
						default:
						}
						return
					}
				}
			}
		}
	}()
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("no receiver report echoing a sender report within 30 s")
	}

	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "(*layer).drainRTCP"); n != 0 {
		t.Errorf("%d layer RTCP reader goroutines, want none", n)
	}
}

// writeKeyFrames writes a VP8 key frame to track 30 times a second until
// ctx ends or a write fails.
func writeKeyFrames(ctx context.Context, track *webrtc.TrackLocalStaticRTP) {
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for seq := uint16(1); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pkt := []byte{0x80, 0x80 | 96, byte(seq >> 8), byte(seq), 0, 0, byte(seq >> 8), byte(seq), 0, 0, 0, 1,
			0x10, 0x00, 0, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}
		if _, err := track.Write(pkt); err != nil {
			return
		}
	}
}
