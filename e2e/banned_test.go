package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// countCameraStarts makes every page the tab opens count its calls to
// getUserMedia in window.kaigiTestGUM.
const countCameraStarts = `(() => {
  window.kaigiTestGUM = 0;
  const md = navigator.mediaDevices;
  if (!md || typeof md.getUserMedia !== "function") return;
  const real = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => { window.kaigiTestGUM++; return real(c); };
})()`

// TestBannedToldBeforeTheCamera: a guest a host removed and banned opens
// the invite link again and is told at once that they cannot join: no
// pre-join form, and the page never asks for the camera or microphone.
func TestBannedToldBeforeTheCamera(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	host := srv.Admin(t)
	m := host.NewMeeting(t, servertest.OpenSettings())
	link := srv.URL + "/m/" + m.ID
	ada := newTab(t, "Ada")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	bob := newTab(t, "Bob")
	bob.run("count camera starts", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(countCameraStarts).Do(ctx)
		return err
	}))
	bob.joinMeeting(link)
	var started int
	if err := bob.eval(`window.kaigiTestGUM`, &started); err != nil || started == 0 {
		t.Fatalf("the counter saw %d camera starts when Bob joined (err %v): it does not count", started, err)
	}
	bobID := bob.selfID()

	ada.click("#toggle-participants")
	ada.click(rowOf(bobID) + ` button[data-action="more"]`)
	ada.click(rowOf(bobID) + ` [role="menuitem"][data-action="remove"]`)
	ada.waitVisible("the confirmation", "#confirm-remove")
	ada.click("#remove-ban")
	ada.click("#confirm-remove-ok")
	bob.waitVisible("the removed screen", `#fatal-error[data-code="removed"]`)

	bob.run("open the invite again", chromedp.Navigate(link))
	bob.waitVisible("the banned screen", `#fatal-error[data-code="banned"]`)
	if got := bob.text("#fatal-error h1"); !strings.Contains(got, "can't join") {
		t.Errorf("the banned screen says %q", got)
	}
	if err := bob.eval(`window.kaigiTestGUM`, &started); err != nil || started != 0 {
		t.Fatalf("the page asked for the camera or microphone %d times (err %v)", started, err)
	}
	if n := bob.count("#display-name"); n != 0 {
		t.Fatalf("the pre-join form is shown")
	}
	bob.screenshot("banned-before-camera")
}
