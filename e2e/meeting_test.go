package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// createMeeting clicks "New meeting" on the home page and returns the link.
func (tb *tab) createMeeting(srvURL string) string {
	tb.t.Helper()
	var link string
	tb.run("create a meeting",
		chromedp.Navigate(srvURL+"/"),
		chromedp.WaitVisible("#new-meeting", chromedp.ByQuery),
		chromedp.Click("#new-meeting", chromedp.ByQuery),
		chromedp.WaitVisible("#meeting-link", chromedp.ByQuery),
	)
	if err := tb.eval(`(() => { const e = document.querySelector("#meeting-link"); return e.value || e.href || e.textContent; })()`, &link); err != nil {
		tb.t.Fatal(err)
	}
	if !strings.HasPrefix(link, srvURL+"/m/") {
		tb.t.Fatalf("meeting link %q does not point to %s/m/", link, srvURL)
	}
	return link
}

// joinMeeting opens a link, types a name and joins.
func (tb *tab) joinMeeting(link string) {
	tb.t.Helper()
	tb.run("join "+link,
		chromedp.Navigate(link),
		chromedp.WaitVisible("#display-name", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#display-name").value = ""`, nil),
		chromedp.SendKeys("#display-name", tb.name, chromedp.ByQuery),
		chromedp.Click("#join", chromedp.ByQuery),
		chromedp.WaitVisible("#meeting", chromedp.ByQuery),
	)
	tb.waitJS("to be in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
}

// TestTwoBrowsersMeet: one browser creates a meeting through the UI, a
// second joins with the link, and each decodes the other's video and audio.
func TestTwoBrowsersMeet(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	link := ada.createMeeting(srv.URL)
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	adaID, bobID := ada.selfID(), bob.selfID()

	ada.decodes(bobID, "camera")
	ada.decodes(bobID, "microphone")
	bob.decodes(adaID, "camera")
	bob.decodes(adaID, "microphone")
	bob.run("see Ada's tile", chromedp.WaitVisible(fmt.Sprintf(`.tile[data-participant=%q] video`, adaID), chromedp.ByQuery))
	ada.screenshot("meeting")
}
