package e2e

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// outboundStat is one entry of window.kaigiDebug.outbound(): one of the
// tab's senders.
type outboundStat struct {
	Source    string  `json:"source"`
	Track     bool    `json:"track"`
	BytesSent float64 `json:"bytesSent"`
}

func (tb *tab) outbound() []outboundStat {
	tb.t.Helper()
	var s string
	if err := tb.eval(`window.kaigiDebug.outbound().then(o => JSON.stringify(o))`, &s); err != nil {
		tb.t.Fatalf("%s: outbound: %v", tb.name, err)
	}
	var out []outboundStat
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		tb.t.Fatalf("%s: outbound %s: %v", tb.name, s, err)
	}
	return out
}

// sendsNothing checks, for a few seconds, that the tab's microphone and
// camera senders exist and carry no track, and that no sender has sent a
// byte of media.
func (tb *tab) sendsNothing() {
	tb.t.Helper()
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		senders := tb.outbound()
		seen := map[string]bool{}
		for _, s := range senders {
			seen[s.Source] = true
			if s.Track || s.BytesSent > 0 {
				tb.t.Fatalf("%s sends its %s: %+v", tb.name, s.Source, senders)
			}
		}
		if !seen["microphone"] || !seen["camera"] {
			tb.t.Fatalf("%s: want the microphone and camera published without tracks, have %+v", tb.name, senders)
		}
	}
}

// sends waits until the tab has sent media bytes from a source.
func (tb *tab) sends(source string) {
	tb.t.Helper()
	tb.waitJS(source+" sent", fmt.Sprintf(`window.kaigiDebug.outbound().then(o => o.some(s => s.source === %q && s.track && s.bytesSent > 0))`, source))
}

// TestE2EEDowngradeRefused: a server that says an end-to-end encrypted
// meeting is not encrypted gets no media from anyone with reason to expect
// encryption. Ada opens an invite link with e2ee=1 while the server lies
// from her first welcome; Bob, who came in by the bare address and was in
// the meeting with encryption on, is lied to when his connection is resumed.
// Each shows the warning, sends no camera or microphone (no track on any
// sender, not a byte of RTP), does not send a camera turned on again, and
// can leave from the warning.
func TestE2EEDowngradeRefused(t *testing.T) {
	var lying atomic.Bool
	srv := startServer(t, servertest.Options{Signal: func(o *signal.Options) {
		o.E2EEClaim = func(_ string, _, e2ee bool) bool { return e2ee && !lying.Load() }
	}})
	host := srv.Admin(t)
	set := servertest.OpenSettings()
	set.E2EE = true
	m := host.NewMeeting(t, set)
	link := srv.URL + "/m/" + m.ID

	bob := newTab(t, "Bob")
	bob.joinMeeting(link)
	bob.waitFor("the encrypted indicator", `#e2ee-indicator[data-state="on"]`)
	bob.waitGone("no encryption warning", `#encryption-banner:not([hidden])`)
	bob.sends("camera")

	lying.Store(true)
	ada := newTab(t, "Ada")
	ada.joinMeeting(link + "#e2ee=1")
	ada.waitVisible("the downgrade warning", `#encryption-banner[data-kind="downgrade"][role="alert"]`)
	ada.waitText("what the warning says", "#encryption-banner", "The server says this meeting is not encrypted, but your invite says it is.")
	ada.screenshot("downgrade")
	// Her media connection is up (Bob's encrypted video reaches her), and
	// still nothing goes out.
	bobID := bob.selfID()
	ada.waitJS("packets from Bob", fmt.Sprintf(`window.kaigiDebug.stats().then(s => s.some(x => x.participant === %q && x.packetsReceived > 0))`, bobID))
	ada.sendsNothing()
	ada.waitJS("the camera and microphone turned off", `document.querySelector("#toggle-camera").getAttribute("aria-pressed") === "false" && document.querySelector("#toggle-mic").getAttribute("aria-pressed") === "false"`)
	ada.click("#toggle-camera")
	ada.waitText("why the camera is not sent", "#notice", "Not sent")
	ada.sendsNothing()

	// Bob's connection drops; the server resumes him and now says the
	// meeting is not encrypted.
	srv.DropConnections()
	bob.waitVisible("the downgrade warning after the resume", `#encryption-banner[data-kind="downgrade"]`)
	bob.waitJS("back in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	bob.sendsNothing()
	bob.screenshot("downgrade-resumed")

	ada.click("#downgrade-leave")
	ada.waitJS("to have left", `window.kaigiDebug.state() === "left"`)
}

// TestUnencryptedMeetingSaysSo: in a meeting without end-to-end
// encryption (and an invite link that says so), the pre-join screen says the
// server can see and hear it and joining is agreeing to send without; in
// the meeting a banner keeps saying it, and the camera is sent.
func TestUnencryptedMeetingSaysSo(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	host := srv.Admin(t)
	m := host.NewMeeting(t, servertest.OpenSettings())

	cy := newTab(t, "Cy")
	cy.openPrejoin(srv.URL + "/m/" + m.ID + "#e2ee=0")
	cy.waitText("the pre-join note", "#not-encrypted-note", "not end-to-end encrypted")
	cy.waitText("the join button says it", "#join", "Join without encryption")
	cy.joinMeeting("")
	cy.waitVisible("the banner", `#encryption-banner[data-kind="clear"]`)
	cy.waitText("what the banner says", "#encryption-banner", "This meeting is not end-to-end encrypted: the server can see and hear it.")
	cy.sends("camera")
	cy.waitFor("the indicator", `#e2ee-indicator[data-state="off"]`)
}
