package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestAdminLocksAMeetingInTheBrowser: in the admin console's "Meetings in
// progress" an administrator locks a member's meeting, giving a reason (none
// is refused in the dialog); the participant's browser shows the notice with
// the reason, and the row says locked (that newcomers are refused is
// internal/server TestAdminLocksAMeeting's). Unlocked the same way, the
// participant is told again.
func TestAdminLocksAMeetingInTheBrowser(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	admin := newTab(t, "Alex")
	admin.signedInAs(srv, srv.Admin(t))
	bob := srv.NewAccount(t, "bob@example.org", "Bob")
	set := servertest.OpenSettings()
	set.E2EE = true
	m := bob.NewMeeting(t, set)

	gus := newTab(t, "Gus")
	gus.joinMeeting(srv.URL + "/m/" + m.ID)

	row := `#live-meetings tr[data-meeting="` + m.ID + `"]`
	admin.run("open the admin page", chromedp.Navigate(srv.URL+"/admin"))
	admin.waitVisible("the live meeting's lock button", row+`[data-locked="false"] button[data-action="lock"]`)
	admin.click(row + ` button[data-action="lock"]`)
	admin.waitVisible("the reason asked for", "#lock-meeting-reason")
	admin.click("#lock-meeting-confirm")
	admin.waitVisible("a reason is required", "#lock-meeting-problem")
	admin.typeInto("#lock-meeting-reason", "Abuse report 7")
	admin.click("#lock-meeting-confirm")
	admin.waitVisible("the meeting shown locked", row+`[data-locked="true"] button[data-action="unlock"]`)

	gus.waitVisible("the administrator's notice", "#admin-notice")
	gus.waitText("the notice says what and why", "#admin-notice", "An administrator locked this meeting (nobody new can join): Abuse report 7")

	gus.click("#admin-notice-dismiss")
	gus.waitJS("the notice dismissed", `!document.querySelector("#admin-notice").checkVisibility()`)
	admin.click(row + ` button[data-action="unlock"]`)
	admin.typeInto("#lock-meeting-reason", "Report withdrawn")
	admin.click("#lock-meeting-confirm")
	admin.waitVisible("the meeting shown unlocked", row+`[data-locked="false"] button[data-action="lock"]`)
	gus.waitText("told of the unlock", "#admin-notice", "An administrator unlocked this meeting (people with the link can join again): Report withdrawn")
	gus.waitVisible("the notice shown again", "#admin-notice")
}
