package sfu

import (
	"regexp"
	"testing"

	"github.com/pion/webrtc/v4"
)

var ufragLine = regexp.MustCompile(`a=ice-ufrag:(\S+)`)

func ufragOf(sdp string) string {
	m := ufragLine.FindStringSubmatch(sdp)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestOfferRightAfterFirstAnswerKeepsICE: the server offered first (a
// subscription); the client answers and at once offers what it publishes,
// with the same ICE credentials (no restart). The server's answer must
// keep the server's ICE credentials: a browser refuses an answer that
// restarts ICE when its offer did not ask for it (Firefox:
// "Remote description indicates ICE restart but offer did not request ICE
// restart"), and the negotiation is wedged.
func TestOfferRightAfterFirstAnswerKeepsICE(t *testing.T) {
	s := newTestSFU(t)
	for i := range 20 {
		sig := &answers{}
		p, err := s.NewRouter("m").AddPeer("ada", sig)
		if err != nil {
			t.Fatal(err)
		}
		// The server offers first, as when it subscribes a joiner to
		// what others publish.
		p.mu.Lock()
		if _, err := p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		so, err := p.pc.CreateOffer(nil)
		if err == nil {
			err = p.pc.SetLocalDescription(so)
		}
		p.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}

		c, err := webrtc.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetRemoteDescription(so); err != nil {
			t.Fatal(err)
		}
		ca, err := c.CreateAnswer(nil)
		if err == nil {
			err = c.SetLocalDescription(ca)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := p.HandleAnswer(ca.SDP); err != nil {
			t.Fatal(err)
		}
		// At once, the client's own offer: its microphone.
		if _, err := c.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		co, err := c.CreateOffer(nil)
		if err == nil {
			err = c.SetLocalDescription(co)
		}
		if err != nil {
			t.Fatal(err)
		}
		if ufragOf(co.SDP) != ufragOf(ca.SDP) {
			t.Fatalf("the client's offer restarts ICE itself")
		}
		if err := p.HandleOffer(co.SDP, []PublishedTrack{{Mid: "1", Source: SourceMicrophone}}); err != nil {
			t.Fatal(err)
		}
		if got, want := ufragOf(sig.last()), ufragOf(so.SDP); got != want {
			t.Errorf("round %d: the server's answer to an offer without an ICE restart has ICE ufrag %q, its offer had %q: it restarted ICE", i, got, want)
		}
		c.Close()
		p.close()
	}
}
