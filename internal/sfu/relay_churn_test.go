package sfu

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// churnTrack is a simulcast camera of owner's without media, as a
// publisher's track is between its publishing and its first packet: what
// a relay carries of it is its three sections.
func churnTrack(owner *Peer) *UpTrack {
	u := &UpTrack{
		owner:     owner,
		source:    SourceCamera,
		kind:      webrtc.RTPCodecTypeVideo,
		codec:     webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}},
		simulcast: true,
		done:      make(chan struct{}),
	}
	u.downs.Store(&[]*DownTrack{})
	return u
}

// settled reports that the relay's last change has been offered and
// answered.
func (o *RelayOut) settled() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.needOffer && o.pc.SignalingState() == webrtc.SignalingStateStable
}

// TestRelayTrackChurnStaysUnderBound: an admitted participant publishing
// and unpublishing a simulcast camera again and again (three relay
// sections each time) grows the relay no further than what is published
// at once: a stopped track's sections carry the next track, so the relay
// never reaches its bound of sections (lowered here, so that the churn is
// five times what the bound allows if sections were not reused), and a
// track published at the end still crosses. Needs the network namespace
// (scripts/isolated.sh).
func TestRelayTrackChurnStaysUnderBound(t *testing.T) {
	defer func(n int) { maxRelayMLines = n }(maxRelayMLines)
	maxRelayMLines = 24
	const cycles = 40 // 120 sections without reuse

	a, b := newTestSFU(t).NewRouter("m"), newTestSFU(t).NewRouter("m")
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	pub := newPionClient(t, a, "ada")
	sub := newPionClient(t, b, "bob")
	l := link(t, a, b, "A", "B")

	most := 0
	for i := range cycles {
		up := churnTrack(pub.peer)
		a.publish(up)
		waitFor(t, 20*time.Second, "the relay never settled after a publish", l.out.settled)
		a.unpublish(up)
		waitFor(t, 20*time.Second, "the relay never settled after an unpublish", l.out.settled)
		n := mediaSections(l.out.pc.CurrentLocalDescription().SDP)
		if n > maxRelayMLines {
			t.Fatalf("after %d publish-unpublish cycles the relay has %d sections, more than %d", i+1, n, maxRelayMLines)
		}
		most = max(most, n)
	}
	t.Logf("%d publish-unpublish cycles of a simulcast camera: at most %d relay sections", cycles, most)
	if most > 3 {
		t.Errorf("a relay carrying one track at a time grew to %d sections, want 3", most)
	}

	// A renegotiation while the video sections are free (a microphone
	// published and unpublished): offered ended again, they must still
	// carry the next tracks.
	up := churnTrack(pub.peer)
	up.source, up.kind, up.simulcast = SourceMicrophone, webrtc.RTPCodecTypeAudio, false
	up.codec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}
	a.publish(up)
	waitFor(t, 20*time.Second, "the relay never settled after a microphone's publish", l.out.settled)
	a.unpublish(up)
	waitFor(t, 20*time.Second, "the relay never settled after a microphone's unpublish", l.out.settled)

	// A track published and unpublished while an offer is outstanding:
	// its new sections are first offered ended, and still carry tracks
	// later.
	l.hold.Lock()
	up = churnTrack(pub.peer)
	a.publish(up)
	up2 := churnTrack(pub.peer)
	a.publish(up2)
	a.unpublish(up2)
	l.hold.Unlock()
	waitFor(t, 20*time.Second, "the relay never settled after a track ended unoffered", l.out.settled)
	a.unpublish(up)
	waitFor(t, 20*time.Second, "the relay never settled after the last unpublish", l.out.settled)

	// Tracks published now still cross, each in a reused section.
	tracks := pub.publish([]Source{SourceMicrophone, SourceCamera}, false)
	mic, cam := tracks["microphone/"], tracks["camera/"]
	var i uint32
	waitFor(t, 30*time.Second, "tracks published after the churn never reached B's subscriber", func() bool {
		i++
		if err := mic.write(testPayload(warmUp+i), 960); err != nil {
			t.Fatal(err)
		}
		if err := cam.write(testPayload(warmUp+i), 3000); err != nil {
			t.Fatal(err)
		}
		return len(sub.got(webrtc.RTPCodecTypeAudio)) > 0 && len(sub.got(webrtc.RTPCodecTypeVideo)) > 0
	})
	// Three sections of the churn, three of the camera never offered,
	// one of the microphone.
	if n := mediaSections(l.out.pc.CurrentLocalDescription().SDP); n > 7 {
		t.Errorf("the relay has %d sections after the churn and a microphone and a camera, want 7 (reused)", n)
	}
}

// TestRelayMidReusedForAnotherTrack: a hostile or buggy peer node keeps a
// relay section and its SSRC but names another participant's track in it
// (its msid). The track the section carried ends on this node; the media
// that goes on in the section is not credited to the first participant,
// nor taken as the second's without a section of its own.
func TestRelayMidReusedForAnotherTrack(t *testing.T) {
	b := newTestSFU(t).NewRouter("m")
	t.Cleanup(b.Close)
	newPionClient(t, b, "bob")

	// The hostile node: a plain PeerConnection sending one track.
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		relayTrackID(SourceMicrophone, "", 1), "ada")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	answers := make(chan string, 4)
	in, err := b.RelayFrom("A", hostileEnd{answers})
	if err != nil {
		t.Fatal(err)
	}
	negotiate := func(munge func(string) string) {
		t.Helper()
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(offer); err != nil {
			t.Fatal(err)
		}
		<-gathered
		if err := in.HandleOffer(munge(pc.LocalDescription().SDP)); err != nil {
			t.Fatalf("B refused the offer: %v", err)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: <-answers}); err != nil {
			t.Fatal(err)
		}
	}
	owners := func() (out []string) {
		for _, up := range b.Tracks() {
			out = append(out, up.owner.participant)
		}
		return out
	}
	var seq uint16
	send := func() {
		t.Helper()
		seq++
		if err := track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: testPayload(uint32(seq))}); err != nil {
			t.Fatal(err)
		}
	}

	negotiate(func(s string) string { return s })
	waitFor(t, 30*time.Second, "Ada's relayed microphone never reached B", func() bool {
		send()
		o := owners()
		return len(o) == 1 && o[0] == "ada"
	})

	// The same section and SSRC, named Eve's microphone.
	negotiate(func(s string) string {
		return strings.ReplaceAll(s, "ada "+relayTrackID(SourceMicrophone, "", 1), "eve "+relayTrackID(SourceMicrophone, "", 2))
	})
	waitFor(t, 20*time.Second, "B still credits the section's media to Ada", func() bool {
		send()
		return len(owners()) == 0
	})
	for range 50 {
		send()
	}
	if o := owners(); len(o) != 0 {
		t.Fatalf("B publishes tracks of %v from a section renamed under it", o)
	}
}

// hostileEnd is the test's RelaySignaller for a relay from a hand-made
// peer node: B's answers go to the test.
type hostileEnd struct{ answers chan string }

func (e hostileEnd) Description(sdp string) { e.answers <- sdp }
func (e hostileEnd) Closed()                {}
