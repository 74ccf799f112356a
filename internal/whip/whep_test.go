package whip_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/whip/whiptest"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

func newEgressToken(t *testing.T, host *servertest.Account, meetingID, name string) ingestToken {
	t.Helper()
	var tok ingestToken
	if code := host.Do(t, "POST", "/api/meetings/"+meetingID+"/egress", map[string]any{"name": name}, &tok); code != http.StatusCreated {
		t.Fatalf("create an egress token: %d", code)
	}
	if !strings.HasPrefix(tok.Token, "kaigi_whep_") || !strings.HasSuffix(tok.URL, "/whep/"+meetingID) {
		t.Fatalf("egress token %+v", tok)
	}
	return tok
}

// viewerIn finds the roster's WHEP viewer named name.
func viewerIn(c *client.Client, name string) (client.Participant, bool) {
	for _, p := range c.Roster() {
		if p.Viewer && p.Name == name {
			return p, true
		}
	}
	return client.Participant{}, false
}

// waitViewer waits, packet by packet, until cond holds.
func waitViewer(ctx context.Context, v *whiptest.Viewer, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-v.Arrived():
		case <-ctx.Done():
			a, vid := v.Packets()
			return fmt.Errorf("waiting for %s: %w (audio %d, video %d packets)", what, ctx.Err(), a, vid)
		}
	}
	return nil
}

// seen counts the logged packets of the sizes given.
func seen(log []whiptest.Packet, sizes ...int) int {
	n := 0
	for _, p := range log {
		for _, s := range sizes {
			if p.Size == s {
				n++
			}
		}
	}
	return n
}

// speaker is a participant publishing a microphone and a camera whose
// packets have sizes of their own, so that the viewer can tell whose it
// gets: audio frames of audio bytes; video key frames of key bytes (one
// packet) and other frames of delta bytes. Its frames come every frame
// interval times pace, so that two speakers' sequence numbers drift
// apart (a switch that did not renumber would show).
type speaker struct {
	c                 *client.Client
	mic               *client.LocalTrack
	audio, key, delta int
}

func joinSpeaker(ctx context.Context, t *testing.T, url, meetingID, name string, audio, key, delta int, pace time.Duration) *speaker {
	t.Helper()
	// The audio level extension negotiated, as browsers do.
	api, err := client.NewAPI(func(m *webrtc.MediaEngine, r *interceptor.Registry) error {
		if err := webrtc.RegisterDefaultInterceptors(m, r); err != nil {
			return err
		}
		return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio)
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Join(ctx, client.Options{BaseURL: url, Meeting: meetingID, Name: name, API: api})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s := &speaker{c: c, audio: audio, key: key, delta: delta}
	mic, err := c.Publish("microphone")
	if err != nil {
		t.Fatal(err)
	}
	cam, err := c.Publish("camera")
	if err != nil {
		t.Fatal(err)
	}
	s.mic = mic
	mic.SetAudioLevel(127, false) // silence
	pctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	go mic.Pump(pctx, client.PumpConfig{FrameInterval: 10 * time.Millisecond * pace, FrameBytes: audio, ClockRate: 48000})
	go cam.Pump(pctx, client.PumpConfig{FrameInterval: time.Second / 60 * pace, FrameBytes: delta, KeyframeEvery: 120, KeyframeBytes: key, ClockRate: 90000, KeyframeOnRequest: true})
	return s
}

// TestWHEPWatchesTheActiveSpeaker: a pion WHEP client watches a meeting
// that is not end-to-end encrypted with the host's egress token. It is
// in everyone's roster as a viewer outside encryption. It gets one audio
// and one video track: the active speaker's, Alice's while she speaks
// and Bob silent; when Bob speaks and Alice falls silent, Bob's, on the
// same two SSRCs, numbered on without a jump, his video from a key
// frame. A second session on the token is refused while the first runs;
// DELETE ends it; a host removing the viewer ends its session; revoking
// the token ends a session and refuses the token. The token is never
// logged.
func TestWHEPWatchesTheActiveSpeaker(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	host := srv.Admin(t)
	m := host.NewMeeting(t, servertest.OpenSettings())
	ctx := waitCtx(t)
	h, err := client.Join(ctx, client.Options{BaseURL: srv.URL, Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// Sizes: every packet is at most 1100 bytes (the client's MTU), so
	// each frame below is one packet, and no size is both speakers'.
	alice := joinSpeaker(ctx, t, srv.URL, m.ID, "Alice", 80, 1000, 700, 2)
	bob := joinSpeaker(ctx, t, srv.URL, m.ID, "Bob", 120, 1050, 900, 1)
	alice.mic.SetAudioLevel(20, true) // -20 dBov: speech
	tok := newEgressToken(t, host, m.ID, "Stage screen")

	v, err := whiptest.Watch(ctx, tok.URL, tok.Token)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer v.Close()
	var vp client.Participant
	if err := h.WaitFor(ctx, "the viewer in the roster", func() bool { p, ok := viewerIn(h, "Stage screen"); vp = p; return ok }); err != nil {
		t.Fatal(err)
	}
	if !vp.Ingest || vp.SignedIn || vp.Account != "" || vp.Audio || vp.Video {
		t.Fatalf("the viewer is shown as %+v", vp)
	}

	audio, video := webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo
	if err := waitViewer(ctx, v, "Alice's audio and video", func() bool {
		return seen(v.Log(audio), alice.audio) >= 20 && seen(v.Log(video), alice.key, alice.delta) >= 20
	}); err != nil {
		t.Fatal(err)
	}
	// Before the first levels arrive the viewer may begin on Bob; from
	// Alice's first packet on it has only hers.
	log := v.Log(video)
	start := 0
	for log[start].Size != alice.key && log[start].Size != alice.delta {
		start++
	}
	if n := seen(log[start:], bob.key, bob.delta); n != 0 {
		t.Fatalf("while Alice speaks the viewer got %d of Bob's video packets", n)
	}
	if first := log[start]; !first.KeyFrame || first.Size != alice.key {
		t.Fatalf("Alice's video began with %+v, not her key frame", first)
	}
	if !log[0].KeyFrame {
		t.Fatalf("the viewer's video began with %+v, not a key frame", log[0])
	}

	// Bob speaks, Alice stops.
	before := len(v.Log(video))
	beforeAudio := len(v.Log(audio))
	bob.mic.SetAudioLevel(20, true)
	alice.mic.SetAudioLevel(127, false)
	// (Counted from the switch: the viewer may have begun on Bob.)
	bobs := func() (int, int) {
		return seen(v.Log(audio)[beforeAudio:], bob.audio), seen(v.Log(video)[before:], bob.key, bob.delta)
	}
	if err := waitViewer(ctx, v, "Bob's audio and video", func() bool { a, vid := bobs(); return a >= 20 && vid >= 20 }); err != nil {
		a, vid := bobs()
		t.Fatalf("%v: Bob's audio %d, video %d packets", err, a, vid)
	}
	after := v.Log(video)[before:]
	i := 0
	for i < len(after) && after[i].Size != bob.key && after[i].Size != bob.delta {
		i++
	}
	if i == len(after) || !after[i].KeyFrame || after[i].Size != bob.key {
		t.Fatalf("Bob's video began with %+v, not his key frame", after[min(i, len(after)-1)])
	}
	if n := seen(after[i:], alice.key, alice.delta); n != 0 {
		t.Fatalf("after the switch the viewer got %d of Alice's video packets", n)
	}
	// Numbered on: Bob's first packet follows the last one sent before
	// it, one sequence number and less than a second of timestamps on.
	for _, c := range []struct {
		kind  webrtc.RTPCodecType
		sizes []int
		rate  uint32
		from  int
	}{{audio, []int{bob.audio}, 48000, beforeAudio}, {video, []int{bob.key, bob.delta}, 90000, before}} {
		log := v.Log(c.kind)
		i := c.from
		for i < len(log) && seen(log[i:i+1], c.sizes...) == 0 {
			i++
		}
		if i == 0 || i == len(log) {
			t.Fatalf("%s: Bob's packets at %d of %d", c.kind, i, len(log))
		}
		prev, first := log[i-1], log[i]
		if first.Seq != prev.Seq+1 || first.TS-prev.TS == 0 || first.TS-prev.TS > c.rate {
			t.Fatalf("%s: Bob's first packet is numbered %d at %d after %d at %d", c.kind, first.Seq, first.TS, prev.Seq, prev.TS)
		}
	}
	if a, vs := v.SSRCs(audio), v.SSRCs(video); a != 1 || vs != 1 {
		t.Fatalf("the viewer's tracks came on %d audio and %d video SSRCs, not one each", a, vs)
	}
	// A source switched without renumbering would jump by a random
	// distance (the two publishers' numbers are unrelated).
	if ga, gv := v.Gap(audio), v.Gap(video); ga > 50 || gv > 50 {
		t.Fatalf("sequence numbers jumped by %d (audio) and %d (video)", ga, gv)
	}

	// One session per token at a time.
	if _, err := whiptest.Watch(ctx, tok.URL, tok.Token); !refusedWith(err, http.StatusConflict, "token_in_use") {
		t.Fatalf("a second session on the token: %v", err)
	}
	// DELETE ends the session: the viewer leaves the roster.
	if code, err := v.Delete(ctx); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE the session: %d %v", code, err)
	}
	if err := h.WaitFor(ctx, "the viewer to leave", func() bool { _, ok := viewerIn(h, "Stage screen"); return !ok }); err != nil {
		t.Fatal(err)
	}

	// A host removes a viewer: its session ends.
	again, err := whiptest.Watch(ctx, tok.URL, tok.Token)
	if err != nil {
		t.Fatalf("watch after the first session ended: %v", err)
	}
	defer again.Close()
	if err := h.WaitFor(ctx, "the viewer back", func() bool { p, ok := viewerIn(h, "Stage screen"); vp = p; return ok }); err != nil {
		t.Fatal(err)
	}
	if err := waitViewer(ctx, again, "media", func() bool { a, vid := again.Packets(); return a > 0 && vid > 0 }); err != nil {
		t.Fatal(err)
	}
	if err := h.Control("remove", map[string]any{"participant": vp.ID}); err != nil {
		t.Fatal(err)
	}
	if err := h.WaitFor(ctx, "the removed viewer to leave", func() bool { _, ok := viewerIn(h, "Stage screen"); return !ok }); err != nil {
		t.Fatal(err)
	}
	if code, _ := again.Delete(ctx); code != http.StatusNotFound {
		t.Fatalf("DELETE of a removed viewer's session: %d, want 404 (the session ended)", code)
	}
	select { // the server closed its media transport
	case <-again.Gone():
	case <-ctx.Done():
		t.Fatalf("the removed viewer's transport is still %s", again.PC.ConnectionState())
	}

	// Revoking the token ends its session and refuses it from then on.
	third, err := whiptest.Watch(ctx, tok.URL, tok.Token)
	if err != nil {
		t.Fatalf("watch after removal: %v", err)
	}
	defer third.Close()
	if err := h.WaitFor(ctx, "the viewer back again", func() bool { _, ok := viewerIn(h, "Stage screen"); return ok }); err != nil {
		t.Fatal(err)
	}
	if code := host.Do(t, "DELETE", "/api/meetings/"+m.ID+"/egress/"+tok.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	if err := h.WaitFor(ctx, "the revoked token's viewer to leave", func() bool { _, ok := viewerIn(h, "Stage screen"); return !ok }); err != nil {
		t.Fatal(err)
	}
	if _, err := whiptest.Watch(ctx, tok.URL, tok.Token); !refusedWith(err, http.StatusUnauthorized, "bad_token") {
		t.Fatalf("a revoked token: %v", err)
	}
	if strings.Contains(srv.Logs(), tok.Token) || strings.Contains(srv.Logs(), strings.TrimPrefix(tok.Token, "kaigi_whep_")) {
		t.Fatal("the server logged the egress token")
	}
}
