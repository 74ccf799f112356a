package server_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// pion's and net/http's background workers end shortly after Close.
		goleak.IgnoreTopFunction("github.com/pion/interceptor/pkg/nack.(*GeneratorInterceptor).loop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}

// TestFourParticipantsExchangeMedia is the walking skeleton's core: four
// participants publish audio and video, each receives the other three's, the
// tracks map to the right participant and source, and departures remove the
// leavers' tracks and roster entries for the others.
func TestFourParticipantsExchangeMedia(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "microphone", "camera")
	bob := srv.join(t, id, "Bob", "microphone", "camera")
	cy := srv.join(t, id, "Cy", "microphone", "camera")
	dee := srv.join(t, id, "Dee", "microphone", "camera")
	all := []*client.Client{ada, bob, cy, dee}

	for _, rx := range all {
		for _, tx := range all {
			if rx == tx {
				continue
			}
			receiving(t, rx, tx, "microphone", 50)
			receiving(t, rx, tx, "camera", 50)
		}
		if n := len(rx.RemoteTracks()); n != 6 {
			t.Errorf("%s receives %d tracks, want 6", rx.Self().Name, n)
		}
		if got := rosterNames(rx); got != "Ada,Bob,Cy,Dee" {
			t.Errorf("%s's roster = %s", rx.Self().Name, got)
		}
	}
	// Each received track carries what its publisher sent: a frame's first
	// packet starts with the VP8 descriptor and the send-time stamp the
	// synthetic source writes.
	starts := 0
	for _, p := range ada.Track(bob.Self().ID, "camera").Payloads() {
		if len(p) > 0 && p[0] == 0x10 {
			starts++
			if len(p) < 12 || string(p[2:4]) != "KG" {
				t.Fatalf("a frame from Bob arrived altered: % x", p[:min(len(p), 12)])
			}
		}
	}
	if starts == 0 {
		t.Fatal("no frame start among the first packets from Bob")
	}

	cyID := cy.Self().ID
	dee.Leave()
	cy.Leave()
	for _, rx := range []*client.Client{ada, bob} {
		err := rx.WaitFor(waitCtx(t), "Cy's tracks to go", func() bool {
			return rx.Track(cyID, "camera") == nil && rx.Track(cyID, "microphone") == nil && rosterNames(rx) == "Ada,Bob"
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The two who stayed still hear and see each other.
	before := ada.Track(bob.Self().ID, "camera").Packets()
	receiving(t, ada, bob, "camera", before+30)
	receiving(t, bob, ada, "microphone", bob.Track(ada.Self().ID, "microphone").Packets()+30)

	// Everything the clients received was counted as forwarded.
	var received uint64
	for _, c := range []*client.Client{ada, bob} {
		for _, rt := range c.RemoteTracks() {
			received += rt.Packets()
		}
	}
	if got := metric(t, srv, "kaigi_forwarded_packets_total"); got < float64(received) {
		t.Errorf("kaigi_forwarded_packets_total = %v, but clients received %d", got, received)
	}
	if got := metric(t, srv, "kaigi_participants"); got != 2 {
		t.Errorf("kaigi_participants = %v, want 2", got)
	}
}

// TestLateJoinerGetsKeyframeAndExistingTracks: someone joining a meeting in
// progress receives the tracks already published, and the publisher is
// asked for a keyframe so the newcomer can start decoding.
func TestLateJoinerGetsKeyframeAndExistingTracks(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "camera")
	bob := srv.join(t, id, "Bob")
	receiving(t, bob, ada, "camera", 20)
	before := ada.Local("camera").KeyframeRequests()

	cy := srv.join(t, id, "Cy")
	receiving(t, cy, ada, "camera", 20)
	err := ada.WaitFor(waitCtx(t), "a keyframe request", func() bool {
		return ada.Local("camera").KeyframeRequests() > before
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestScreenShareComesAndGoes: publishing a screen mid-meeting adds a track
// for the others; stopping removes it; the camera is unaffected.
func TestScreenShareComesAndGoes(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "camera")
	bob := srv.join(t, id, "Bob")
	receiving(t, bob, ada, "camera", 10)

	screen, err := ada.Publish("screen")
	if err != nil {
		t.Fatal(err)
	}
	pump(t, screen)
	if err := ada.SetMedia(false, true, true); err != nil {
		t.Fatal(err)
	}
	receiving(t, bob, ada, "screen", 20)
	err = bob.WaitFor(waitCtx(t), "Ada's screen flag", func() bool { return participant(bob, ada.Self().ID).Screen })
	if err != nil {
		t.Fatal(err)
	}

	if err := ada.Unpublish("screen"); err != nil {
		t.Fatal(err)
	}
	err = bob.WaitFor(waitCtx(t), "Ada's screen to go", func() bool { return bob.Track(ada.Self().ID, "screen") == nil })
	if err != nil {
		t.Fatal(err)
	}
	receiving(t, bob, ada, "camera", bob.Track(ada.Self().ID, "camera").Packets()+20)
}

// TestMediaStateReachesOthers: mute and camera-off show in others' rosters.
func TestMediaStateReachesOthers(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "microphone", "camera")
	bob := srv.join(t, id, "Bob")
	if p := participant(bob, ada.Self().ID); !p.Audio || !p.Video || p.Screen {
		t.Fatalf("Ada's initial state in Bob's roster = %+v", p)
	}
	if err := ada.SetMedia(false, true, false); err != nil {
		t.Fatal(err)
	}
	err := bob.WaitFor(waitCtx(t), "Ada muted", func() bool {
		p := participant(bob, ada.Self().ID)
		return !p.Audio && p.Video
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestResumeAfterConnectionLoss: a participant whose connection drops is
// shown as reconnecting, comes back with its resume token under the same ID
// and media flows again; one who does not come back in time is removed.
func TestResumeAfterConnectionLoss(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "camera")
	bob := srv.join(t, id, "Bob", "camera")
	receiving(t, ada, bob, "camera", 10)
	bobID, token := bob.Self().ID, bob.ResumeToken()

	bob.Drop()
	err := ada.WaitFor(waitCtx(t), "Bob reconnecting", func() bool {
		return participant(ada, bobID).Connection == "reconnecting" && ada.Track(bobID, "camera") == nil
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx := waitCtx(t)
	bob2, err := client.Join(ctx, client.Options{BaseURL: srv.URL, Meeting: id, Name: "Bob", Resume: token, Publish: []string{"camera"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bob2.Close)
	pump(t, bob2.Local("camera"))
	if !bob2.Resumed() || bob2.Self().ID != bobID {
		t.Fatalf("resume: resumed=%v id=%s, want true and %s", bob2.Resumed(), bob2.Self().ID, bobID)
	}
	if got := rosterNames(bob2); got != "Ada,Bob" {
		t.Errorf("roster after resume = %s", got)
	}
	err = ada.WaitFor(ctx, "Bob connected again", func() bool { return participant(ada, bobID).Connection == "connected" })
	if err != nil {
		t.Fatal(err)
	}
	receiving(t, ada, bob2, "camera", 10)
	receiving(t, bob2, ada, "camera", 10)

	// An old token is spent: it joins as someone new.
	bob3, err := client.Join(ctx, client.Options{BaseURL: srv.URL, Meeting: id, Name: "Bob again", Resume: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bob3.Close)
	if bob3.Resumed() || bob3.Self().ID == bobID {
		t.Errorf("a used resume token was accepted again")
	}
}

func TestLostParticipantIsRemovedAfterGrace(t *testing.T) {
	srv := startServer(t, func(_ *config.Config, o *signal.Options) {
		if o != nil {
			o.ResumeGrace = 200 * 1e6 // 200 ms
		}
	})
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada")
	bob := srv.join(t, id, "Bob")
	bobID := bob.Self().ID
	bob.Drop()
	err := ada.WaitFor(waitCtx(t), "Bob removed", func() bool { return participant(ada, bobID).ID == "" })
	if err != nil {
		t.Fatal(err)
	}
}

// TestResumeReplacesOpenSession: resuming while the old socket is still
// open (a second tab, or a connection the server has not noticed is dead)
// moves the participant to the new socket and tells the old one why.
func TestResumeReplacesOpenSession(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada")
	ctx := waitCtx(t)
	again, err := client.Join(ctx, client.Options{BaseURL: srv.URL, Meeting: id, Name: "Ada", Resume: ada.ResumeToken()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(again.Close)
	if !again.Resumed() {
		t.Fatal("not resumed")
	}
	select {
	case <-ada.Done():
	case <-ctx.Done():
		t.Fatal("old socket not closed")
	}
	if r := ada.ClosedReason(); r != "replaced" {
		t.Errorf("old session closed with %q, want replaced", r)
	}
}

func participant(c *client.Client, id string) client.Participant {
	for _, p := range c.Roster() {
		if p.ID == id {
			return p
		}
	}
	return client.Participant{}
}

func rosterNames(c *client.Client) string {
	s := ""
	for i, p := range c.Roster() {
		if i > 0 {
			s += ","
		}
		s += p.Name
	}
	return s
}

func metric(t *testing.T, srv *testServer, name string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+servertest.MetricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("metric %s missing", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(fmt.Errorf("metric %s: %w", name, err))
	}
	return v
}
