package sfu

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"
)

// offerSDP is a minimal client offer: m-lines with mids and directions.
func offerSDP(lines ...string) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
	for _, l := range lines {
		kind, rest, _ := strings.Cut(l, " ")
		mid, dir, _ := strings.Cut(rest, " ")
		pt := "111"
		if kind == "video" {
			pt = "96"
		}
		b.WriteString("m=" + kind + " 9 UDP/TLS/RTP/SAVPF " + pt + "\r\nc=IN IP4 0.0.0.0\r\na=mid:" + mid + "\r\na=" + dir + "\r\n")
	}
	return b.String()
}

func TestCheckPublished(t *testing.T) {
	offer := offerSDP("audio 0 sendonly", "video 1 sendonly", "video 2 recvonly", "audio 3 sendrecv", "video 4 inactive")
	tests := []struct {
		name   string
		tracks []PublishedTrack
		want   map[string]Source
		err    error
	}{
		{"nothing published", nil, map[string]Source{}, nil},
		{"microphone and camera", []PublishedTrack{{"0", SourceMicrophone}, {"1", SourceCamera}},
			map[string]Source{"0": SourceMicrophone, "1": SourceCamera}, nil},
		{"sendrecv counts as sending", []PublishedTrack{{"3", SourceScreenAudio}}, map[string]Source{"3": SourceScreenAudio}, nil},
		{"unknown source", []PublishedTrack{{"0", "hologram"}}, nil, ErrBadTracks},
		{"empty source", []PublishedTrack{{"0", ""}}, nil, ErrBadTracks},
		{"source twice", []PublishedTrack{{"1", SourceCamera}, {"2", SourceCamera}}, nil, ErrBadTracks},
		{"mid twice", []PublishedTrack{{"0", SourceMicrophone}, {"0", SourceScreenAudio}}, nil, ErrBadTracks},
		{"mid not in offer", []PublishedTrack{{"9", SourceCamera}}, nil, ErrBadTracks},
		{"audio source on video m-line", []PublishedTrack{{"1", SourceMicrophone}}, nil, ErrBadTracks},
		{"video source on audio m-line", []PublishedTrack{{"0", SourceScreen}}, nil, ErrBadTracks},
		{"receive-only m-line", []PublishedTrack{{"2", SourceScreen}}, nil, ErrBadTracks},
		{"inactive m-line", []PublishedTrack{{"4", SourceScreen}}, nil, ErrBadTracks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkPublished(offer, tt.tracks)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for mid, src := range tt.want {
				if got[mid] != src {
					t.Errorf("mid %s: got %q, want %q", mid, got[mid], src)
				}
			}
		})
	}
	if _, err := checkPublished("not sdp", nil); !errors.Is(err, ErrBadSDP) {
		t.Errorf("garbage SDP: %v, want ErrBadSDP", err)
	}
}

func TestSourceKinds(t *testing.T) {
	for _, s := range []Source{SourceMicrophone, SourceScreenAudio} {
		if !s.Valid() || s.Kind().String() != "audio" {
			t.Errorf("%s: valid=%v kind=%s", s, s.Valid(), s.Kind())
		}
	}
	for _, s := range []Source{SourceCamera, SourceScreen} {
		if !s.Valid() || s.Kind().String() != "video" {
			t.Errorf("%s: valid=%v kind=%s", s, s.Valid(), s.Kind())
		}
	}
	if Source("hologram").Valid() || Source("hologram").Kind() != 0 {
		t.Error("an unknown source is valid")
	}
	if SourceCamera.streamSuffix() != SourceMicrophone.streamSuffix() || SourceScreen.streamSuffix() == SourceCamera.streamSuffix() {
		t.Error("camera and microphone must share a stream, screen must not")
	}
}

// answers is a Signaller that keeps the answers it is given.
type answers struct {
	mu  sync.Mutex
	sdp []string
}

func (a *answers) Renegotiate()                      {}
func (a *answers) Offer(string, []TrackInfo)         {}
func (a *answers) Candidate(webrtc.ICECandidateInit) {}
func (a *answers) Answer(sdp string)                 { a.mu.Lock(); a.sdp = append(a.sdp, sdp); a.mu.Unlock() }
func (a *answers) count() int                        { a.mu.Lock(); defer a.mu.Unlock(); return len(a.sdp) }
func (a *answers) last() string                      { a.mu.Lock(); defer a.mu.Unlock(); return a.sdp[len(a.sdp)-1] }

// TestOfferBounds: an offer with far more media sections than a client
// publishes, or larger than any client sends, is refused before it is
// parsed; a client's real offer is answered.
func TestOfferBounds(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sig := &answers{}
	p, err := s.NewRouter("m").AddPeer("ada", sig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)

	// A client publishing its microphone and camera, and what it may not
	// send.
	c, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := c.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := c.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	// The same offer with its audio section 2,999 times over.
	head, rest, _ := strings.Cut(offer.SDP, "m=audio")
	audio, video, _ := strings.Cut(rest, "m=video")
	var big strings.Builder
	big.WriteString(head)
	for i := range 2999 {
		big.WriteString("m=audio" + strings.Replace(audio, "a=mid:0\r\n", fmt.Sprintf("a=mid:%d\r\n", 2+i), 1))
	}
	big.WriteString("m=video" + video)
	lines := make([]string, 9)
	for i := range lines {
		lines[i] = fmt.Sprintf("audio %d sendonly", i)
	}
	for _, tt := range []struct{ name, sdp string }{
		{"3,000 m-lines", big.String()},
		{"9 m-lines on a new connection", offerSDP(lines...)},
		{"m-lines after stray carriage returns", strings.ReplaceAll(offerSDP(lines...), "\r\nm=", "\n\r\rm=")},
		{"more than 1 MiB", offerSDP("audio 0 sendonly") + strings.Repeat("a=x\r\n", 1<<18)},
	} {
		err := p.HandleOffer(tt.sdp, nil)
		if !errors.Is(err, ErrBadSDP) || !strings.Contains(err.Error(), "more than") {
			t.Errorf("%s: %v, want refused by size", tt.name, err)
		}
	}
	if n := len(p.pc.GetTransceivers()); n != 0 || p.pc.SignalingState() != webrtc.SignalingStateStable || sig.count() != 0 {
		t.Fatalf("a refused offer was applied: %d transceivers, %s, %d answers", n, p.pc.SignalingState(), sig.count())
	}

	if err := p.HandleOffer(offer.SDP, []PublishedTrack{{"0", SourceMicrophone}, {"1", SourceCamera}}); err != nil {
		t.Fatalf("a real offer: %v", err)
	}
	if sig.count() != 1 {
		t.Fatal("a real offer was not answered")
	}

	// Re-offers cannot grow the call 8 m-lines at a time: what the client
	// adds is bounded for the whole call.
	reoffer := func(add int) error {
		t.Helper()
		if err := c.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.last()}); err != nil {
			t.Fatal(err)
		}
		for range add {
			if _, err := c.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
		}
		o, err := c.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetLocalDescription(o); err != nil {
			t.Fatal(err)
		}
		return p.HandleOffer(o.SDP, []PublishedTrack{{"0", SourceMicrophone}, {"1", SourceCamera}})
	}
	if err := c.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	if err := reoffer(maxClientMLines - 2); err != nil {
		t.Fatalf("a re-offer with %d m-lines in all: %v", maxClientMLines, err)
	}
	if err := reoffer(1); !errors.Is(err, ErrBadSDP) {
		t.Fatalf("a re-offer with %d m-lines in all, the SFU having offered none: %v; want refused", maxClientMLines+1, err)
	}
	if n := len(p.pc.GetTransceivers()); n != maxClientMLines {
		t.Fatalf("%d transceivers after the refused re-offer, want %d", n, maxClientMLines)
	}
}
