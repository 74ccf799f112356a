package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestReloadResumes: an admitted guest in an end-to-end encrypted meeting
// with a waiting room reloads the page and is back in the meeting as the
// same participant, without the waiting room (the host's waiting list stays
// empty, and the server logs no second waiting-room entry), decoding the
// host again, with the same security code as the host and a self-view that
// plays.
func TestReloadResumes(t *testing.T) {
	srv, _, ada, bob := admittedGuest(t)
	adaID, bobID := ada.selfID(), bob.selfID()
	ada.decodes(bobID, "camera")
	bob.decodes(adaID, "camera")
	sameCodes(t, ada, bob)
	waited := strings.Count(srv.Logs(), "joiner waiting")
	if waited != 1 {
		t.Fatalf("%d waiting-room entries logged, want 1 (Bob)", waited)
	}

	reloaded := time.Now()
	bob.run("reload the page", chromedp.Reload())
	bob.waitJS("to be back in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	if got := bob.selfID(); got != bobID {
		t.Fatalf("came back as %s, want the same participant %s", got, bobID)
	}
	bob.decodes(adaID, "camera")
	media := time.Since(reloaded)
	ada.decodesMore(bobID, "camera", ada.framesDecoded(bobID, "camera"))
	sameCodes(t, ada, bob)
	t.Logf("reload to decoding the host again: %v", media.Round(time.Millisecond))
	bob.selfViewPlays()
	if n := strings.Count(srv.Logs(), "joiner waiting"); n != waited {
		t.Fatalf("Bob passed the waiting room again (%d entries logged)", n)
	}
	if n := ada.count(`#waiting-room li[data-waiting]`); n != 0 {
		t.Fatalf("the host's waiting list shows %d people", n)
	}
	if n := ada.count(`#participants li[data-participant]`); n != 2 {
		t.Fatalf("the host's participant list shows %d people, want 2", n)
	}

	// Leaving forgets the token: the next visit is a fresh join.
	bob.click("#leave")
	bob.waitJS("to have left", `window.kaigiDebug.state() === "left"`)
	var kept int
	if err := bob.eval(`Object.keys(sessionStorage).filter(k => k.startsWith("kaigi.resume.")).length`, &kept); err != nil {
		t.Fatal(err)
	}
	if kept != 0 {
		t.Fatalf("%d resume tokens kept after leaving", kept)
	}
}
