package sfu

import (
	"errors"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestOfferWithADataChannelIsRefused: a participant's offer with an
// m=application section (a data channel) is refused before pion sees
// it, alone or beside a published microphone: the SFU uses no data
// channel, and pion would accept every channel the client opened, each
// kept with a read loop for the connection's life (found in review:
// 20,000 channels held 114 MB of heap and 16,000 goroutines). The same
// client's offer without the data channel is taken.
func TestOfferWithADataChannelIsRefused(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")

	offer := func(dataChannel bool) (string, string) {
		t.Helper()
		pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		tr, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
		if err != nil {
			t.Fatal(err)
		}
		if dataChannel {
			if _, err := pc.CreateDataChannel("x", nil); err != nil {
				t.Fatal(err)
			}
		}
		o, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.SetLocalDescription(o); err != nil {
			t.Fatal(err)
		}
		return o.SDP, tr.Mid()
	}

	for _, tracks := range [][]PublishedTrack{nil, {{Source: SourceMicrophone}}} {
		sdp, mid := offer(true)
		for i := range tracks {
			tracks[i].Mid = mid
		}
		p, err := r.AddPeer("eve", nopSignaller{})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.HandleOffer(sdp, tracks); !errors.Is(err, ErrBadSDP) {
			t.Fatalf("an offer with a data channel (tracks %v): %v, want ErrBadSDP", tracks, err)
		}
		if p.pc.RemoteDescription() != nil {
			t.Fatal("pion was given the offer with a data channel")
		}
		r.RemovePeer("eve")
	}

	sdp, mid := offer(false)
	p, err := r.AddPeer("eve", nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.HandleOffer(sdp, []PublishedTrack{{Mid: mid, Source: SourceMicrophone}}); err != nil {
		t.Fatalf("the same offer without a data channel: %v", err)
	}
}
