package sfu

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// orderedSignaller is a Signaller that records descriptions and candidates
// in the order they were signalled. Its Answer and Offer are slow.
type orderedSignaller struct {
	mu     sync.Mutex
	events []string // "answer <ufrag>", "offer <ufrag>", "candidate <line>", "end"
	ended  chan struct{}
}

func newOrderedSignaller() *orderedSignaller {
	return &orderedSignaller{ended: make(chan struct{}, 4)}
}

// newOrderedPeer adds a participant to a new router of s, signalling
// through an orderedSignaller.
func newOrderedPeer(t *testing.T, s *SFU) (*Peer, *orderedSignaller) {
	t.Helper()
	sig := newOrderedSignaller()
	p, err := s.NewRouter("m").AddPeer("ada", sig)
	if err != nil {
		t.Fatal(err)
	}
	return p, sig
}

// slowDescription is how long a description takes to go out, as on a
// loaded machine (where the e2e tests saw the candidates overtake it):
// whatever is signalled meanwhile is recorded first, as the client would
// get it.
const slowDescription = 50 * time.Millisecond

func (o *orderedSignaller) Renegotiate() {}

func (o *orderedSignaller) Offer(sdp string, _ []TrackInfo) {
	time.Sleep(slowDescription)
	o.record("offer " + ufragOf(sdp))
}

func (o *orderedSignaller) Answer(sdp string) {
	time.Sleep(slowDescription)
	o.record("answer " + ufragOf(sdp))
}

func (o *orderedSignaller) Candidate(c webrtc.ICECandidateInit) {
	if c.Candidate != "" {
		o.record("candidate " + c.Candidate)
		return
	}
	o.record("end")
	select {
	case o.ended <- struct{}{}:
	default:
	}
}

func (o *orderedSignaller) record(e string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, e)
}

// since returns the events recorded from index from on, and the count.
func (o *orderedSignaller) since(from int) ([]string, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.events[from:]...), len(o.events)
}

// awaitEnd waits for the server's end-of-candidates.
func (o *orderedSignaller) awaitEnd(t *testing.T) {
	t.Helper()
	select {
	case <-o.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's candidate gathering did not end")
	}
}

// checkCandidatesFollow fails unless events hold a description (an event
// starting with kind), then at least one candidate, then the end of
// candidates, and nothing of the candidates' before the description. A
// round with no candidate at all after the description would pass a bare
// order check while the client got nothing to connect to. The end may come
// twice: pion's SetLocalDescription reports it again when gathering had
// already ended (ICEGatherer.flushCandidates), as a restart's often has.
func checkCandidatesFollow(t *testing.T, round string, kind string, events []string) {
	t.Helper()
	described, candidates, ended := false, 0, false
	for _, e := range events {
		switch {
		case strings.HasPrefix(e, kind+" "):
			described = true
		case strings.HasPrefix(e, "candidate "), e == "end":
			if !described {
				t.Errorf("%s: a candidate was signalled before its %s: %v", round, kind, events)
				return
			}
			if ended && e != "end" {
				t.Errorf("%s: a candidate was signalled after the end of candidates: %v", round, events)
				return
			}
			if e == "end" {
				ended = true
			} else {
				candidates++
			}
		}
	}
	if !described || candidates == 0 || !ended {
		t.Errorf("%s: want the %s, then candidates, then their end; got %v", round, kind, events)
	}
}

// TestRestartCandidatesFollowTheAnswer: the server's candidates of a new
// ICE generation (an ICE restart) are signalled after the answer that
// carries the generation's credentials. pion gathers them from the moment
// it applies the restart offer, before the answer exists; sent first, they
// reach the client while its remote description is still the old
// generation's, and are lost to it (Firefox then has no candidate of the
// server's to check, and ICE fails 5 s later). The first generation's
// candidates follow the first answer by the same rule.
func TestRestartCandidatesFollowTheAnswer(t *testing.T) {
	s := newTestSFU(t)
	for i := range 10 {
		p, sig := newOrderedPeer(t, s)
		c, err := webrtc.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		from := 0
		offer := func(round string, opts *webrtc.OfferOptions) {
			t.Helper()
			o, err := c.CreateOffer(opts)
			if err == nil {
				err = c.SetLocalDescription(o)
			}
			if err == nil {
				err = p.HandleOffer(o.SDP, []PublishedTrack{{Mid: "0", Source: SourceMicrophone}})
			}
			if err != nil {
				t.Fatal(err)
			}
			sig.awaitEnd(t)
			if err := c.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: p.pc.LocalDescription().SDP}); err != nil {
				t.Fatal(err)
			}
			var events []string
			events, from = sig.since(from)
			checkCandidatesFollow(t, round, "answer", events)
		}
		offer(fmt.Sprintf("round %d, first offer", i), nil)
		offer(fmt.Sprintf("round %d, restart", i), &webrtc.OfferOptions{ICERestart: true})
		_ = c.Close()
		p.close()
	}
}

// TestServerOfferCandidatesFollowTheOffer: when the server offers first
// (a participant subscribed to something before its client offered),
// pion starts gathering in SetLocalDescription, before the offer is
// signalled; the candidates follow the offer all the same.
func TestServerOfferCandidatesFollowTheOffer(t *testing.T) {
	s := newTestSFU(t)
	for i := range 10 {
		p, sig := newOrderedPeer(t, s)
		// What subscribe does, less the UpTrack: a sending transceiver
		// and a turn asked for.
		if _, err := p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		p.offerLocked()
		p.mu.Unlock()
		if err := p.HandleReady(); err != nil {
			t.Fatal(err)
		}
		sig.awaitEnd(t)
		events, _ := sig.since(0)
		checkCandidatesFollow(t, fmt.Sprintf("round %d", i), "offer", events)
		p.close()
	}
}
