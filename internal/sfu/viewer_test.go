package sfu

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// fakeUp is a published track for the choice functions: only its owner,
// source and kind matter to them.
func fakeUp(participant string, source Source) *UpTrack {
	return &UpTrack{owner: &Peer{participant: participant}, source: source, kind: source.Kind(), done: make(chan struct{})}
}

func name(up *UpTrack) string {
	if up == nil {
		return "nothing"
	}
	return up.Participant() + "'s " + string(up.Source())
}

// TestViewerChoosesVideo: a viewer sees a shared screen before any
// camera (the one it sees, while it lasts), else the speaker's camera,
// else the camera it sees, else any; never a closed track or audio.
func TestViewerChoosesVideo(t *testing.T) {
	aCam, bCam := fakeUp("a", SourceCamera), fakeUp("b", SourceCamera)
	aMic, bScreen, cScreen := fakeUp("a", SourceMicrophone), fakeUp("b", SourceScreen), fakeUp("c", SourceScreen)
	on := func(up *UpTrack) *DownTrack { return &DownTrack{up: up} }
	for _, c := range []struct {
		name    string
		tracks  []*UpTrack
		speaker string
		cur     *DownTrack
		want    *UpTrack
	}{
		{"nothing published", nil, "", nil, nil},
		{"audio only", []*UpTrack{aMic}, "a", nil, nil},
		{"the speaker's camera", []*UpTrack{aCam, bCam, aMic}, "b", on(aCam), bCam},
		{"the camera seen while nobody speaks", []*UpTrack{bCam, aCam}, "", on(aCam), aCam},
		{"the camera seen when the speaker has none", []*UpTrack{aCam, bCam, fakeUp("c", SourceMicrophone)}, "c", on(bCam), bCam},
		{"a screen before the speaker's camera", []*UpTrack{aCam, bScreen}, "a", on(aCam), bScreen},
		{"the screen seen before another", []*UpTrack{bScreen, cScreen}, "", on(cScreen), cScreen},
	} {
		if got := chooseVideo(c.tracks, c.speaker, c.cur); got != c.want {
			t.Errorf("%s: chose %s, want %s", c.name, name(got), name(c.want))
		}
	}
	close(bScreen.done)
	if got := chooseVideo([]*UpTrack{aCam, bScreen}, "a", on(bScreen)); got != aCam {
		t.Errorf("a closed screen: chose %s", name(got))
	}
	if got := chooseVideo([]*UpTrack{fakeUp("z", SourceCamera)}, "", nil); got == nil || got.Kind() != webrtc.RTPCodecTypeVideo {
		t.Errorf("any camera: chose %s", name(got))
	}
}

// TestViewerChoosesTheSpeaker: the audio sent is someone's from the
// start; another takes over only when speaking (louder than -57 dBov)
// and 6 dB louder than the one sent; one who is gone is replaced.
func TestViewerChoosesTheSpeaker(t *testing.T) {
	a, b := fakeUp("a", SourceMicrophone), fakeUp("b", SourceMicrophone)
	ina, inb := &audioInput{up: a}, &audioInput{up: b}
	inputs := map[*UpTrack]*audioInput{a: ina, b: inb}
	var m audioMux
	if got := m.choose(map[*UpTrack]*audioInput{}); got != "" {
		t.Fatalf("with nobody: %q", got)
	}
	ina.loudness = 1
	if got := m.choose(inputs); got != "a" || !m.switched {
		t.Fatalf("at first: %q (switched %v)", got, m.switched)
	}
	m.switched = false
	for _, c := range []struct {
		a, b float64
		want string
	}{
		{0, 60, "a"},  // b is not speaking: room noise
		{80, 84, "a"}, // b is louder, by less than the margin
		{80, 90, "b"}, // b takes over
		{95, 90, "b"}, // a is louder, by less than the margin
		{0, 0, "b"},   // silence keeps the one sent
	} {
		ina.loudness, inb.loudness = c.a, c.b
		if got := m.choose(inputs); got != c.want {
			t.Fatalf("a at %v, b at %v: %q, want %q", c.a, c.b, got, c.want)
		}
	}
	if !m.switched {
		t.Fatal("the switch to b was not marked for renumbering")
	}
	delete(inputs, b)
	if got := m.choose(inputs); got != "a" {
		t.Fatalf("b gone: %q", got)
	}
	delete(inputs, a)
	if got := m.choose(inputs); got != "" || m.current != nil {
		t.Fatalf("everyone gone: %q", got)
	}
}
