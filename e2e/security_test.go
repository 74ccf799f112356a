package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestNoMeetingBombing is issue 4's scenario. A host signs in with a
// password and a TOTP code, creates a meeting with the defaults (passcode,
// waiting room) and starts it; a guest with the invite link waits until
// the host admits them, then they see each other; someone with the bare
// meeting address and a wrong passcode is refused.
func TestNoMeetingBombing(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	acct := srv.NewAccount(t, "ada@example.org", "Ada Host")
	secret := enableTOTP(t, acct)

	ada := newTab(t, "Ada")
	ada.signInUI(srv.URL, acct.Email, acct.Pass, secret)
	invite, passcode := ada.createMeetingUI(srv.URL, nil)
	if passcode == "" || !strings.HasSuffix(invite, "#pwd="+passcode+"&e2ee=1") {
		t.Fatalf("invite %q, passcode %q: want the passcode and the E2EE marker in the link's fragment", invite, passcode)
	}
	id := strings.TrimPrefix(strings.TrimSuffix(invite, "#pwd="+passcode+"&e2ee=1"), srv.URL+"/m/")
	ada.screenshot("created")
	ada.click("#start-meeting")
	ada.openPrejoin("")
	ada.waitJS("the account's name prefilled", `document.querySelector("#display-name").value === "Ada Host"`)
	ada.waitGone("no passcode field for the host", "#passcode")
	ada.click("#join")
	ada.waitJS("to be in the meeting", `window.kaigiDebug.state() === "in-meeting"`)

	// The guest follows the invite link: the passcode comes from the
	// fragment, which leaves the address bar.
	bob := newTab(t, "Bob")
	bob.openPrejoin(invite)
	bob.waitJS("the passcode gone from the address, the E2EE marker kept", `location.hash === "#e2ee=1" && location.pathname === "/m/`+id+`"`)
	bob.waitGone("no passcode field with the invite link", "#passcode")
	bob.typeInto("#display-name", "Bob")
	bob.click("#join")
	bob.waitVisible("the waiting room", `#waiting[data-reason="waiting_room"]`)
	bob.waitJS("the camera preview while waiting", `document.querySelector("#waiting video.preview-video").videoWidth > 0`)
	bob.screenshot("waiting")

	// Ada sees him arrive with the panel closed, and admits him from it.
	ada.waitVisible("the arrival notice", "#waiting-toast")
	ada.waitText("the arrival notice names Bob", "#waiting-toast", "Bob is waiting")
	ada.click("#toggle-participants")
	ada.waitVisible("Bob in the waiting room", `#waiting-room li[data-waiting][data-signed-in="false"]`)
	ada.screenshot("waiting-room")
	ada.click(`#waiting-room li[data-waiting] button[data-action="admit"]`)
	bob.waitJS("to be let in", `window.kaigiDebug.state() === "in-meeting"`)
	adaID, bobID := ada.selfID(), bob.selfID()
	ada.decodes(bobID, "camera")
	bob.decodes(adaID, "camera")
	ada.waitVisible("Bob marked as a guest", rowOf(bobID)+" .guest")
	ada.waitText("Ada marked as the host", rowOf(adaID)+" .role", "Host")
	ada.waitGone("the waiting room empty", `#waiting-room li[data-waiting]`)
	ada.screenshot("admitted")

	// The bare address asks for the passcode; a wrong one is refused.
	eve := newTab(t, "Eve")
	eve.joinTo(srv.URL+"/m/"+id, "000000000")
	eve.waitVisible("the wrong-passcode message", "#passcode-error")
	eve.waitText("the server's words", "#passcode-error", "passcode is not right")
	eve.waitVisible("the passcode field again", "#passcode")
	eve.screenshot("wrong-passcode")
}

// TestHostControls: a host mutes a guest (who may not unmute), locks the
// meeting against a newcomer, and removes the guest for good.
func TestHostControls(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	admin := srv.Admin(t)
	m := admin.NewMeeting(t, &meeting.Settings{ScreenShare: meeting.WhoHosts, Unmute: meeting.WhoHosts,
		Chat: meeting.WhoEveryone, Rename: meeting.WhoEveryone})
	link := srv.URL + "/m/" + m.ID

	host, bob := newTab(t, "Alex"), newTab(t, "Bob")
	host.signedInAs(srv, admin)
	host.joinMeeting(link)
	bob.joinMeeting(link)
	bobID := bob.selfID()

	// Only hosts may share: Bob's button is marked so, and pressing it says why.
	bob.waitJS("screen sharing blocked", `(() => { const b = document.querySelector("#toggle-screen"); return b.getAttribute("aria-disabled") === "true" && b.querySelector(".control-lock") !== null && b.title === "Only hosts can share"; })()`)
	bob.click("#toggle-screen")
	bob.waitText("the reason", "#notice", "Only hosts can share their screen")

	// Mute: Bob's microphone goes off, he is told, and may not turn it on.
	host.click("#toggle-participants")
	host.waitVisible("Bob's row with his microphone on", rowOf(bobID)+`[data-audio="on"]`)
	host.click(rowOf(bobID) + ` button[data-action="more"]`)
	host.click(rowOf(bobID) + ` [role="menuitem"][data-action="mute"]`)
	bob.waitJS("Bob's microphone off and locked", `(() => { const b = document.querySelector("#toggle-mic"); return b.getAttribute("aria-pressed") === "false" && b.getAttribute("aria-disabled") === "true"; })()`)
	bob.waitText("the notice", "#notice", "Alex muted you")
	host.waitVisible("Bob shown muted", rowOf(bobID)+`[data-audio="off"]`)
	bob.screenshot("muted")

	// The host opens sharing and unmuting to everyone: Bob's buttons follow at once.
	host.clickInMore("#open-meeting-settings")
	host.waitVisible("the settings dialog", "#meeting-settings")
	host.run("let everyone share and unmute",
		chromedp.SetValue("#live-screen-share", "everyone", chromedp.ByQuery),
		chromedp.SetValue("#live-unmute", "everyone", chromedp.ByQuery),
	)
	host.click("#meeting-settings-save")
	bob.waitJS("sharing and unmuting allowed", `!document.querySelector("#toggle-screen").hasAttribute("aria-disabled") && !document.querySelector("#toggle-mic").hasAttribute("aria-disabled")`)

	// Lock: everyone sees it, and a newcomer is turned away.
	host.click("#lock-meeting")
	host.waitVisible("the lock pressed", `#lock-meeting[aria-pressed="true"]`)
	bob.waitVisible("the locked indicator", "#locked-indicator")
	eve := newTab(t, "Eve")
	eve.joinTo(link, "")
	eve.waitVisible("the locked screen", `#fatal-error[data-code="meeting_locked"]`)
	host.screenshot("locked")

	// Remove, and don't let him rejoin.
	host.click(rowOf(bobID) + ` button[data-action="more"]`)
	host.click(rowOf(bobID) + ` [role="menuitem"][data-action="remove"]`)
	host.waitVisible("the confirmation", "#confirm-remove")
	host.click("#remove-ban")
	host.screenshot("confirm-remove")
	host.click("#confirm-remove-ok")
	bob.waitVisible("the removed screen", `#fatal-error[data-code="removed"]`)
	host.waitGone("Bob's row to go", rowOf(bobID))
	bob.screenshot("removed")
	bob.run("open the invite again", chromedp.Navigate(link)) // told before the pre-join form
	bob.waitVisible("the banned screen", `#fatal-error[data-code="banned"]`)

	// The host ends the meeting for everyone (here: for themselves).
	host.click("#end-for-all")
	host.waitVisible("the confirmation", "#confirm-end")
	host.click("#confirm-end-ok")
	host.waitVisible("the ended screen", `#fatal-error[data-code="ended"]`)
}
