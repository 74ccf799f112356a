package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestSmallThings: the first account is told it is the administrator
// (once, after sign-up, and on the account page); the toolbar's meeting ID
// is whole in its tooltip and copies whole, and whole in the bar at
// 1280 px; the people button has one
// badge, marked while someone waits.
func TestSmallThings(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	ada := newTab(t, "Ada")
	ada.run("open the sign-up page", chromedp.Navigate(srv.URL+"/signup"))
	ada.typeInto("#name", "Ada Lovelace")
	ada.typeInto("#email", "ada@example.org")
	ada.typeInto("#password", "analytical engine 1843")
	ada.click("#signup-submit")
	ada.waitFor("the signed-in home page", `#home[data-signed-in="true"] #new-meeting`)
	ada.waitVisible("the administrator notice", "#new-admin-notice")
	ada.waitText("the notice", "#new-admin-notice", "administrator")
	ada.screenshot("admin-notice")
	ada.run("reload", chromedp.Reload())
	ada.waitFor("the home page again", `#home[data-signed-in="true"] #new-meeting`)
	if n := ada.count("#new-admin-notice"); n != 0 {
		t.Errorf("the administrator notice shows again after a reload")
	}
	ada.run("open the account page", chromedp.Navigate(srv.URL+"/account"))
	ada.waitText("the role", "#account-role", "Administrator")
	if ada.attr(`#account-role a`, "href") != "/admin" {
		t.Errorf("the account page's role has no link to Administration")
	}

	invite, _ := ada.createMeetingUI(srv.URL, nil) // the invite link carries the passcode
	ada.click("#start-meeting")
	ada.joinMeeting("")
	bob := newTab(t, "Bob")
	bob.joinTo(invite, "")
	bob.waitVisible("the waiting room", `#waiting[data-reason="waiting_room"]`)

	ada.waitFor("the people badge marked", `#toggle-participants .badge.waiting[data-waiting="1"]`)
	if n := ada.count("#toggle-participants .badge"); n != 1 {
		t.Errorf("the people button has %d badges, want 1", n)
	}
	if got := ada.text("#people-badge"); got != "1" {
		t.Errorf("the people badge says %q, want 1 (Ada in the meeting)", got)
	}
	id := ada.text("#copy-meeting-id")
	if got := ada.attr("#copy-meeting-id", "title"); got != fmt.Sprintf("Meeting ID %s (click to copy)", id) || len(id) != 19 {
		t.Errorf("the meeting ID %q has the tooltip %q", id, got)
	}
	// At 1280 px the bar has room for the whole ID beside the host's tools.
	var width float64
	if err := ada.eval(`window.innerWidth`, &width); err != nil || width < 1200 {
		t.Logf("the window is %v px wide (%v): the ID's width is not checked", width, err)
	} else {
		ada.waitJS("the whole meeting ID in sight", `(() => { const e = document.querySelector("#copy-meeting-id"); return e.scrollWidth <= e.clientWidth; })()`)
	}
	ada.screenshot("controls-bar")
	ada.click("#more-controls")
	ada.waitVisible("the host's items in the More menu", "#more-controls-menu #open-breakouts")
	ada.screenshot("more-menu")
	ada.click("#more-controls")
	ada.waitGone("the More menu closed", "#more-controls-menu:not([hidden])")
	ada.click("#copy-meeting-id")
	ada.waitJS("the copy to be reported", `/Meeting ID copied|would not copy/.test(document.querySelector(".copy-status").textContent)`)
	ada.screenshot("waiting-badge")

	ada.click("#toggle-participants")
	ada.click(`#waiting-room li[data-waiting] button[data-action="admit"]`)
	bob.waitJS("to be let in", `window.kaigiDebug.state() === "in-meeting"`)
	ada.waitFor("the people badge no longer marked", `#people-badge:not(.waiting)`)
	ada.waitText("two people", "#people-badge", "2")
}
