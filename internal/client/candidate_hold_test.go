package client

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestCandidatesWaitForTheRestartAnswer: a server candidate that arrives
// while the client's ICE restart offer awaits its answer is kept and
// applied with the answer, not added to the old generation (where it would
// be lost). The server signals its candidates after their description
// (sfu.candidateHold); this is for a server that does not.
func TestCandidatesWaitForTheRestartAnswer(t *testing.T) {
	c := &Client{opts: Options{API: DefaultAPI()}, changed: make(chan struct{}), done: make(chan struct{}), trackMap: map[string]TrackInfo{}, locals: map[string]*LocalTrack{}}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	server, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	c.pc = pc
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	negotiate := func(opts *webrtc.OfferOptions) string {
		t.Helper()
		o, err := pc.CreateOffer(opts)
		if err == nil {
			err = pc.SetLocalDescription(o)
		}
		if err == nil {
			err = server.SetRemoteDescription(o)
		}
		var a webrtc.SessionDescription
		if err == nil {
			a, err = server.CreateAnswer(nil)
		}
		if err == nil {
			err = server.SetLocalDescription(a)
		}
		if err != nil {
			t.Fatal(err)
		}
		return a.SDP
	}
	first := negotiate(nil)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: first}); err != nil {
		t.Fatal(err)
	}
	restart := negotiate(&webrtc.OfferOptions{ICERestart: true})

	b, err := os.ReadFile("../wire/testdata/server-to-client/candidate.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.handle(&inbound{Type: wire.TypeCandidate, raw: b}); err != nil {
		t.Fatal(err)
	}
	if len(c.pending) != 1 {
		t.Fatalf("a candidate during the restart offer: %d kept, want 1 (it went to the old generation)", len(c.pending))
	}
	answer, err := json.Marshal(wire.Answer{Type: wire.TypeAnswer, SDP: restart})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.handle(&inbound{Type: wire.TypeAnswer, raw: answer}); err != nil {
		t.Fatal(err)
	}
	if len(c.pending) != 0 {
		t.Errorf("after the answer %d candidates still kept, want 0", len(c.pending))
	}
	// Once stable, candidates go straight to the agent again.
	if err := c.handle(&inbound{Type: wire.TypeCandidate, raw: b}); err != nil {
		t.Fatal(err)
	}
	if len(c.pending) != 0 {
		t.Errorf("a candidate once stable was kept (%d), want it applied", len(c.pending))
	}
}
