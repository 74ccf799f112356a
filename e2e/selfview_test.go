package e2e

import (
	"fmt"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// selfFrames is how many frames the tab's own camera tile has shown.
const selfFrames = `(() => { const v = document.querySelector(".tile.self:not(.screen) video"); return v && !v.hidden ? v.getVideoPlaybackQuality().totalVideoFrames : -1; })()`

// selfViewPlays waits until the tab's self-view shows 15 more frames than
// it had (half a second of the fake camera): a frozen self-view never does.
func (tb *tab) selfViewPlays() {
	tb.t.Helper()
	tb.waitJS("the self-view", selfFrames+` > 0`)
	var n int
	if err := tb.eval(selfFrames, &n); err != nil {
		tb.t.Fatal(err)
	}
	tb.waitJS(fmt.Sprintf("the self-view to go on past frame %d", n), fmt.Sprintf(`%s > %d`, selfFrames, n+15))
}

// admittedGuest opens an end-to-end encrypted meeting with a waiting room
// (the defaults), hosted by Ada, and lets Bob in through the waiting room.
func admittedGuest(t *testing.T) (srv *servertest.Server, link string, ada, bob *tab) {
	srv = startServer(t, servertest.Options{})
	host := srv.Admin(t)
	m := host.NewMeeting(t, nil)
	if !m.Settings.WaitingRoom || !m.Settings.E2EE {
		t.Fatalf("the default meeting has waiting room %v, E2EE %v; the test needs both", m.Settings.WaitingRoom, m.Settings.E2EE)
	}
	link = srv.URL + "/m/" + m.ID
	ada = newTab(t, "Ada")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	bob = newTab(t, "Bob")
	bob.joinTo(link, m.Passcode)
	bob.waitVisible("the waiting room", `#waiting[data-reason="waiting_room"]`)
	ada.click("#toggle-participants")
	ada.click(`#waiting-room li[data-waiting] button[data-action="admit"]`)
	bob.waitJS("to be let in", `window.kaigiDebug.state() === "in-meeting"`)
	return srv, link, ada, bob
}

// TestGuestSelfViewAfterAdmission: a guest's own picture keeps playing
// once a host lets them in (it used to freeze after a few frames: the
// meeting screen's self tile started playing while the waiting screen
// hid it, and the browser paused it when it left the page).
func TestGuestSelfViewAfterAdmission(t *testing.T) {
	_, _, ada, bob := admittedGuest(t)
	bob.selfViewPlays()
	ada.selfViewPlays()
}
