package sfu

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// chanEnd is a RelaySignaller whose descriptions go to the test.
type chanEnd chan string

func (e chanEnd) Description(sdp string) { e <- sdp }
func (e chanEnd) Closed()                {}

func receive(t *testing.T, c chanEnd, what string) string {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s in 20 s", what)
		return ""
	}
}

// closedByPeer closes a relay's PeerConnection as pion does when the
// other node's DTLS close arrives, and keeps the relay from learning of
// it: the moment between the two, held open.
func closedByPeer(t *testing.T, pc *webrtc.PeerConnection) {
	t.Helper()
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) {})
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRelayDescriptionAfterThePeerClosed: an answer (or an offer) that
// reaches a relay whose connection pion has just closed, on the other
// node's DTLS close, before the relay itself has closed, is refused as
// for a closed relay (ErrRelayClosed), not as a bad description or one
// out of turn: nothing is wrong with it, the relay is ending. (pion also
// refuses descriptions, "connection closed", from the start of its Close,
// before its states say closed: that moment the test cannot hold open.)
// (The flake of
// TestRelayTrackChurnStaysUnderBound: at the test's end the other node
// closed while an answer was on its way.) Needs the network namespace
// (scripts/isolated.sh).
func TestRelayDescriptionAfterThePeerClosed(t *testing.T) {
	a, b := newTestSFU(t).NewRouter("m"), newTestSFU(t).NewRouter("m")
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	pub := newPionClient(t, a, "ada")
	offers, answers := make(chanEnd, 4), make(chanEnd, 4)
	in, err := b.RelayFrom("A", answers)
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.RelayTo("B", offers)
	if err != nil {
		t.Fatal(err)
	}
	a.publish(churnTrack(pub.peer))
	offer := receive(t, offers, "relay offer")

	// An offer reaching a relay whose connection has closed.
	c := newTestSFU(t).NewRouter("m")
	t.Cleanup(c.Close)
	late, err := c.RelayFrom("A", make(chanEnd, 4))
	if err != nil {
		t.Fatal(err)
	}
	closedByPeer(t, late.pc)
	if err := late.HandleOffer(offer); !errors.Is(err, ErrRelayClosed) {
		t.Errorf("an offer after the relay's connection closed: %v, want %v", err, ErrRelayClosed)
	}

	// An answer reaching a relay whose connection has closed.
	if err := in.HandleOffer(offer); err != nil {
		t.Fatal(err)
	}
	answer := receive(t, answers, "relay answer")
	closedByPeer(t, out.pc)
	if err := out.HandleAnswer(answer); !errors.Is(err, ErrRelayClosed) {
		t.Errorf("an answer after the relay's connection closed: %v, want %v", err, ErrRelayClosed)
	}
}
