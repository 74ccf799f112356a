package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// openPrejoin opens a meeting link ("": the page is on its way there
// already) and waits for the pre-join screen.
func (tb *tab) openPrejoin(link string) {
	tb.t.Helper()
	if tb.ff != nil {
		if link != "" {
			tb.runBiDi("open "+link, func(ctx context.Context) error { return tb.ff.navigate(ctx, link) })
		}
		tb.waitVisible("the pre-join screen", "#display-name")
		return
	}
	if link != "" {
		tb.run("open "+link, chromedp.Navigate(link))
	}
	tb.run("wait for the pre-join screen", chromedp.WaitVisible("#display-name", chromedp.ByQuery))
}

// joinMeeting opens a link, types a name and joins.
func (tb *tab) joinMeeting(link string) {
	tb.t.Helper()
	tb.openPrejoin(link)
	tb.run("type a name and join",
		chromedp.Evaluate(`document.querySelector("#display-name").value = ""`, nil),
		chromedp.SendKeys("#display-name", tb.name, chromedp.ByQuery),
		chromedp.Click("#join", chromedp.ByQuery),
		chromedp.WaitVisible("#meeting", chromedp.ByQuery),
	)
	tb.waitJS("to be in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
}

func (tb *tab) click(selector string) {
	tb.t.Helper()
	if tb.ff != nil {
		tb.waitVisible("to click "+selector, selector)
		tb.runBiDi("click "+selector, func(ctx context.Context) error { return tb.ff.click(ctx, selector) })
		return
	}
	tb.run("click "+selector, chromedp.Click(selector, chromedp.ByQuery))
}

func tileOf(id string) string { return fmt.Sprintf(`.tile[data-participant=%q]`, id) }
func rowOf(id string) string  { return fmt.Sprintf(`#participants li[data-participant=%q]`, id) }

// TestTwoBrowsersMeet: a signed-in browser creates a meeting through the
// UI, a second joins with the invite link, and each decodes the other's
// video and audio;
// then mute and camera-off show on the other side, and leaving removes the
// leaver's tile.
func TestTwoBrowsersMeet(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.signedInAs(srv, srv.Admin(t))
	// Without the waiting room, so Bob comes straight in; the passcode
	// stays on and travels in the invite link.
	invite, _ := ada.createMeetingUI(srv.URL, func() { ada.click("#new-waiting-room") })
	if !strings.Contains(invite, "#pwd=") {
		t.Fatalf("the invite link %q carries no passcode", invite)
	}
	ada.click("#start-meeting")
	ada.joinMeeting("")
	bob.joinMeeting(invite)
	adaID, bobID := ada.selfID(), bob.selfID()

	ada.decodes(bobID, "camera")
	ada.decodes(bobID, "microphone")
	bob.decodes(adaID, "camera")
	bob.decodes(adaID, "microphone")
	bob.waitFor("Ada's video tile", tileOf(adaID)+".video-on video")
	ada.waitFor("Bob in Ada's participant list", rowOf(bobID))
	ada.screenshot("meeting")

	// Ada's camera reaches the server as simulcast, and Bob tells the
	// server the size he shows it at.
	awaitLog(t, srv, regexp.MustCompile(`msg="simulcast layer" .*participant=`+adaID+` source=camera rid=q`))
	awaitLog(t, srv, regexp.MustCompile(`msg="video size" .*participant=`+bobID+` publisher=`+adaID+` source=camera width=[1-9]`))

	// Ada mutes: Bob's list and Ada's tile say so.
	ada.click("#toggle-mic")
	bob.waitFor("Ada shown muted", rowOf(adaID)+`[data-audio="off"]`)
	if got := ada.attr("#toggle-mic", "aria-pressed"); got != "false" {
		t.Errorf("Ada's mic button aria-pressed = %q after muting", got)
	}
	// Ada turns her camera off: Bob sees her avatar instead of video.
	ada.click("#toggle-camera")
	bob.waitFor("Ada shown with camera off", rowOf(adaID)+`[data-video="off"]`)
	bob.waitFor("Ada's avatar", tileOf(adaID)+":not(.video-on)")
	// And back on: Bob decodes new frames.
	before := bob.framesDecoded(adaID, "camera")
	ada.click("#toggle-camera")
	bob.waitFor("Ada's camera on", rowOf(adaID)+`[data-video="on"]`)
	bob.decodesMore(adaID, "camera", before)

	// Bob leaves: his tile goes from Ada's screen.
	bob.click("#leave")
	bob.waitFor("the left screen", "#left")
	ada.waitGone("Bob's tile to go", tileOf(bobID))
	ada.waitGone("Bob's row to go", rowOf(bobID))
}

// TestThreeBrowsersMeet: N-way, everyone decodes everyone else.
func TestThreeBrowsersMeet(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	link := srv.URL + "/m/" + srv.NewMeeting(t)
	tabs := []*tab{newTab(t, "Ada"), newTab(t, "Bob"), newTab(t, "Cy")}
	ids := make([]string, len(tabs))
	for i, tb := range tabs {
		tb.joinMeeting(link)
		ids[i] = tb.selfID()
	}
	for i, rx := range tabs {
		for j := range tabs {
			if i != j {
				rx.decodes(ids[j], "camera")
				rx.decodes(ids[j], "microphone")
			}
		}
	}
	tabs[2].screenshot("three")
}

// TestScreenShare: a shared screen reaches the other browser as its own
// tile and decodes; stopping the share removes it.
func TestScreenShare(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	link := srv.URL + "/m/" + srv.NewMeeting(t)
	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	adaID := ada.selfID()
	bob.decodes(adaID, "camera")

	ada.click("#toggle-screen")
	bob.decodes(adaID, "screen")
	bob.waitFor("Ada's screen tile", `.tile.screen`+fmt.Sprintf(`[data-participant=%q]`, adaID))
	bob.waitFor("Ada shown sharing", rowOf(adaID)+`[data-screen="on"]`)
	bob.screenshot("screen-share")

	ada.click("#toggle-screen")
	bob.waitGone("Ada's screen tile to go", `.tile.screen`)
	bob.waitFor("Ada shown not sharing", rowOf(adaID)+`[data-screen="off"]`)
}

// TestMeetingNotFound: a link to a meeting that does not exist says so.
func TestMeetingNotFound(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	tb := newTab(t, "Eve")
	tb.run("open a bad link", chromedp.Navigate(srv.URL+"/m/0000-0000-0000-0000"))
	tb.waitFor("the not-found screen", `#fatal-error[data-code="meeting_not_found"]`)
}

// TestCameraDenied: with camera and microphone permission denied, the
// pre-join screen explains, and the person can still join to watch and
// listen.
func TestCameraDenied(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	link := srv.URL + "/m/" + srv.NewMeeting(t)
	// A browser of its own, whose (fake) permission prompt says no.
	denying := startBrowser(t, map[string]any{"use-fake-ui-for-media-stream": "deny"})
	ada, bob := newTabIn(t, denying, "Ada"), newTab(t, "Bob")
	ada.openPrejoin(link)
	ada.waitFor("the media-denied explanation", `#prejoin-error[data-code="media_denied"]`)
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	ada.decodes(bob.selfID(), "camera")
	bob.waitFor("Ada shown without camera", rowOf(ada.selfID())+`[data-video="off"]`)
}

// TestReconnectAfterNetworkLoss: when every connection to the server is
// cut, the browsers show that they are reconnecting, take their places back
// with the same participant IDs, and media flows again.
func TestReconnectAfterNetworkLoss(t *testing.T) {
	srv := startServer(t, servertest.Options{Signal: func(o *signal.Options) {}})
	link := srv.URL + "/m/" + srv.NewMeeting(t)
	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	adaID, bobID := ada.selfID(), bob.selfID()
	ada.decodes(bobID, "camera")
	bob.decodes(adaID, "camera")

	srv.DropConnections()
	ada.waitJS("the reconnecting state", `window.kaigiDebug.state() === "reconnecting"`)
	ada.waitJS("to be back in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	bob.waitJS("to be back in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	if got := ada.selfID(); got != adaID {
		t.Errorf("Ada came back as %s, want her old ID %s", got, adaID)
	}
	if got := bob.selfID(); got != bobID {
		t.Errorf("Bob came back as %s, want his old ID %s", got, bobID)
	}
	// Fresh peer connections: decoding starts again from zero.
	ada.decodes(bobID, "camera")
	bob.decodes(adaID, "camera")
	ada.waitFor("Bob connected in Ada's list", rowOf(bobID)+`[data-connection="connected"]`)
}

// awaitLog waits until the server has logged a line matching re.
func awaitLog(t *testing.T, srv *servertest.Server, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !re.MatchString(srv.Logs()) {
		if time.Now().After(deadline) {
			t.Fatalf("the server never logged %s", re)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
