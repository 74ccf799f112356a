package e2e

import (
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestServerCrashResume: the server is killed with SIGKILL in the middle
// of an end-to-end encrypted meeting with a waiting room, and started
// again on the same address and data. Both browsers come back as the same
// participants, the guest without a second pass through the waiting
// room; video flows again; the encrypted group goes on from the epoch the
// pages kept (issue 17: the restarted server continues it from what the
// members prove), with the same code as before the crash and no alert. The time from the kill to both
// decoding each other again is logged (the closing note of issue 13).
func TestServerCrashResume(t *testing.T) {
	p := servertest.StartProcess(t, servertest.Binary(t))
	host := p.Admin(t)
	m := host.NewMeeting(t, nil) // the defaults: passcode, waiting room, E2EE

	ada := newTab(t, "Ada")
	ada.signedInAs(p.Server, host)
	ada.joinMeeting(p.URL + "/m/" + m.ID)
	bob := newTab(t, "Bob")
	bob.joinTo(p.URL+"/m/"+m.ID, m.Passcode)
	bob.waitVisible("the waiting room", `#waiting[data-reason="waiting_room"]`)
	ada.click("#toggle-participants")
	ada.click(`#waiting-room li[data-waiting] button[data-action="admit"]`)
	bob.waitJS("to be let in", `window.kaigiDebug.state() === "in-meeting"`)
	adaID, bobID := ada.selfID(), bob.selfID()
	ada.decodes(bobID, "camera")
	bob.decodes(adaID, "camera")
	before := sameCodes(t, ada, bob)
	waited := p.Count("joiner waiting")
	if waited != 1 {
		t.Fatalf("%d waiting-room entries logged before the crash, want 1 (Bob)", waited)
	}

	killed := time.Now()
	p.Kill()
	for _, tb := range []*tab{ada, bob} {
		tb.waitJS("to notice the server is gone", `window.kaigiDebug.state() === "reconnecting"`)
	}
	p.Start()
	up := time.Since(killed)
	for _, tb := range []*tab{ada, bob} {
		tb.waitJS("to be back in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	}
	ada.decodes(bobID, "camera")
	bob.decodes(adaID, "camera")
	media := time.Since(killed)
	if ada.selfID() != adaID || bob.selfID() != bobID {
		t.Fatalf("came back as %s and %s, want the same participants %s and %s", ada.selfID(), bob.selfID(), adaID, bobID)
	}
	if n := p.Count("joiner waiting"); n != waited {
		t.Fatalf("Bob passed the waiting room again (%d entries logged)", n)
	}
	after := sameCodes(t, ada, bob)
	keys := time.Since(killed)
	if after != before {
		t.Fatalf("the security code is %s, not the group's from before the crash (%s): the group was formed afresh", after, before)
	}
	for _, tb := range []*tab{ada, bob} {
		tb.waitJS("no encryption alert", `!document.querySelector("#e2ee-alert").checkVisibility()`)
	}
	ada.screenshot("resumed")
	t.Logf("after kill -9: server answering again in %v; both decoding each other in %v; same security code in %v",
		up.Round(time.Millisecond), media.Round(time.Millisecond), keys.Round(time.Millisecond))
}
