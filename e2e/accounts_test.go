package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestTwoFactorEnrolment: on /account, a person turns two-factor on with
// the secret the page shows, and gets ten recovery codes, once.
func TestTwoFactorEnrolment(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	acct := srv.NewAccount(t, "bob@example.org", "Bob")
	bob := newTab(t, "Bob")
	bob.signedInAs(srv, acct)
	bob.run("open the account page", chromedp.Navigate(srv.URL+"/account"))
	bob.waitVisible("two-factor off", `#twofactor-status[data-state="off"]`)
	bob.click("#twofactor-begin")
	bob.waitVisible("the secret", "#twofactor-secret")
	bob.waitJS("the QR code drawn by the server", `document.querySelector("#twofactor-qr").src.startsWith("data:image/png;base64,")`)
	bob.screenshot("enrol")
	secret := strings.ReplaceAll(bob.text("#twofactor-secret"), " ", "")
	code, err := auth.TOTPCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	bob.typeInto("#twofactor-code", code)
	bob.click("#twofactor-confirm")
	bob.waitVisible("the recovery codes", "#recovery-codes")
	var codes []string
	if err := bob.eval(`[...document.querySelectorAll("#recovery-codes ol.codes li")].map(li => li.textContent)`, &codes); err != nil || len(codes) != 10 {
		t.Fatalf("%d recovery codes shown (%v), want 10", len(codes), err)
	}
	bob.screenshot("recovery-codes")
	bob.click("#codes-saved")
	bob.click("#codes-done")
	bob.waitVisible("two-factor on", `#twofactor-status[data-state="on"]`)
	bob.waitVisible("ten codes left", `#recovery-left[data-count="10"]`)

	// Signed out from the account menu, Bob signs in again with a recovery
	// code instead of the app's code; one code fewer is left.
	bob.click("#account-menu-button")
	bob.click(`[role="menuitem"][data-action="signout"]`)
	bob.waitVisible("the sign-in page", "#signin-form")
	bob.typeInto("#email", acct.Email)
	bob.typeInto("#password", acct.Pass)
	bob.click("#signin-submit")
	bob.waitVisible("the code step", "#totp-code")
	bob.click("#use-recovery")
	bob.typeInto("#recovery-code", codes[3])
	bob.click("#code-submit")
	bob.waitFor("signed in", `#home[data-signed-in="true"]`)
	bob.run("open the account page", chromedp.Navigate(srv.URL+"/account"))
	bob.waitVisible("nine codes left", `#recovery-left[data-count="9"]`)
}

// TestTwoFactorRequired: an administrator creates a user and makes
// two-factor required, all on /admin, and sees the creation in the audit
// log, which verifies; the user signs in with their password and is sent to
// set up two-factor, with the reason, and cannot skip it; their account
// page says an administrator created the account.
func TestTwoFactorRequired(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	admin := newTab(t, "Alex")
	admin.signedInAs(srv, srv.Admin(t))
	admin.run("open the admin page", chromedp.Navigate(srv.URL+"/admin"))
	admin.waitVisible("the new-user form", "#new-user-form")
	admin.typeInto("#new-user-email", "cy@example.org")
	admin.typeInto("#new-user-name", "Cy")
	admin.typeInto("#new-user-password", "cy's long password")
	admin.click("#new-user-submit")
	admin.waitVisible("Cy in the users list", `#users tr[data-user="cy@example.org"]`)
	// The creation is in the audit log, which verifies. (After the policy
	// change below, the admin too must enrol before seeing this page.)
	admin.run("reload the admin page", chromedp.Navigate(srv.URL+"/admin"))
	admin.waitVisible("the chain verifies", `#audit-verdict[data-state="verified"] #audit-head`)
	admin.waitText("Cy's creation logged, by Alex", `#audit tr[data-action="user.created"]`, "created Cy as a member")
	admin.click("#org-require2fa")
	admin.click("#org-save")
	admin.waitText("saved", "#org-status", "Saved")

	cy := newTab(t, "Cy")
	cy.run("open the sign-in page", chromedp.Navigate(srv.URL+"/signin"))
	cy.typeInto("#email", "cy@example.org")
	cy.typeInto("#password", "cy's long password")
	cy.click("#signin-submit")
	cy.waitVisible("the explanation", "#twofactor-required")
	cy.waitJS("sent to the account page", `location.pathname === "/account"`)
	cy.waitVisible("the enrolment started", "#twofactor-secret")
	cy.waitGone("no way to skip it", "#twofactor-cancel")
	cy.waitText("told an administrator created the account", `#my-audit li[data-action="user.created"]`, "An administrator created your account as a member")
	cy.run("try the home page", chromedp.Navigate(srv.URL+"/"))
	cy.waitVisible("back to the enrolment", "#twofactor-required")
	cy.run("try the admin page", chromedp.Navigate(srv.URL+"/admin"))
	cy.waitJS("back to the account page", `location.pathname === "/account"`)
}

// TestScheduleEditDelete: a meeting scheduled in the browser's own time
// zone is stored in UTC; it can be renamed and deleted from the list.
func TestScheduleEditDelete(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	admin := srv.Admin(t)
	ada := newTab(t, "Ada")
	ada.signedInAs(srv, admin)
	ada.run("live in New York", emulation.SetTimezoneOverride("America/New_York"))
	ada.run("open the schedule page", chromedp.Navigate(srv.URL+"/schedule"))
	ada.waitVisible("the schedule form", "#schedule-form")
	ada.typeInto("#schedule-title", "Planning")
	ada.run("pick a date and time", chromedp.Evaluate(`(() => {
		document.querySelector("#schedule-date").value = "2030-01-15";
		document.querySelector("#schedule-time").value = "09:30";
	})()`, nil))
	ada.waitText("the time zone named", "#schedule-tz", "America/New_York")
	ada.click("#schedule-submit")
	ada.waitVisible("the scheduled meeting", "#created #meeting-link")

	var list struct {
		Meetings []struct{ ID, Kind, Title, StartsAt string }
	}
	admin.Do(t, "GET", "/api/meetings", nil, &list)
	var id string
	for _, m := range list.Meetings {
		if m.Kind == "scheduled" {
			id = m.ID
			if m.Title != "Planning" || m.StartsAt != "2030-01-15T14:30:00Z" {
				t.Errorf("scheduled %q at %s, want Planning at 2030-01-15T14:30:00Z (09:30 in New York)", m.Title, m.StartsAt)
			}
		}
	}
	if id == "" {
		t.Fatalf("no scheduled meeting in %+v", list.Meetings)
	}

	row := `#meetings li[data-meeting="` + id + `"]`
	ada.run("open the home page", chromedp.Navigate(srv.URL+"/"))
	ada.waitVisible("the meeting in the list", row)
	ada.click(row + ` button[data-action="edit"]`)
	ada.waitVisible("the edit dialog", "#edit-meeting")
	ada.waitJS("the local time shown", `document.querySelector("#edit-time").value === "09:30"`)
	ada.typeInto("#edit-title", "Planning, moved")
	ada.click("#edit-meeting-save")
	ada.waitText("the new title", row+" .meeting-title", "Planning, moved")
	ada.click(row + ` button[data-action="delete"]`)
	ada.click("#confirm-delete-ok")
	ada.waitGone("the meeting gone", row)
	if code := admin.Do(t, "GET", "/api/meetings/"+id, nil, nil); code != http.StatusNotFound {
		t.Errorf("deleted meeting: %d, want 404", code)
	}
	// The personal room stays, and cannot be deleted.
	ada.waitVisible("the personal room", `#meetings li[data-kind="personal"]`)
	ada.waitGone("no delete for the personal room", `#meetings li[data-kind="personal"] button[data-action="delete"]`)
}

// TestAdminSuspendsUser: in the admin console an administrator suspends a
// member, giving a reason; the member's session ends, and signing in
// tells them the reason; reinstated, they sign in and their account page
// lists the suspension with the reason.
func TestAdminSuspendsUser(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	admin := newTab(t, "Alex")
	admin.signedInAs(srv, srv.Admin(t))
	bobAccount := srv.NewAccount(t, "bob@example.org", "Bob")
	bob := newTab(t, "Bob")
	bob.signedInAs(srv, bobAccount)
	bob.run("open the account page", chromedp.Navigate(srv.URL+"/account"))
	bob.waitVisible("signed in", "#account-email")

	// One meeting today, for the usage card below: a Go participant joins
	// and leaves.
	jctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gus, err := client.Join(jctx, client.Options{BaseURL: srv.URL, Meeting: srv.NewMeeting(t), Name: "Gus"})
	if err != nil {
		t.Fatal(err)
	}
	gus.Leave()
	admin.run("record CSP violations", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(recordCSPViolations).Do(ctx)
		return err
	}))
	admin.run("open the admin page", chromedp.Navigate(srv.URL+"/admin"))
	checkUsageCard(admin)
	row := `#users tr[data-user="bob@example.org"]`
	admin.click(row + ` button[data-action="suspend"]`)
	admin.waitVisible("the reason asked for", "#user-action-reason")
	admin.click("#user-action-confirm")
	admin.waitVisible("a reason is required", "#user-action-problem")
	admin.typeInto("#user-action-reason", "Security review, call IT")
	admin.click("#user-action-confirm")
	admin.waitVisible("Bob shown suspended", row+`[data-state="suspended"]`)

	bob.run("reload", chromedp.Navigate(srv.URL+"/account"))
	bob.waitJS("sent to sign in", `location.pathname === "/signin"`)
	bob.typeInto("#email", "bob@example.org")
	bob.typeInto("#password", bobAccount.Pass)
	bob.click("#signin-submit")
	bob.waitText("told why", "#signin-error", "Security review, call IT")

	admin.click(row + ` button[data-action="reinstate"]`)
	admin.click("#user-action-confirm")
	admin.waitVisible("Bob active again", row+`[data-state="active"]`)
	bob.click("#signin-submit")
	bob.waitJS("signed in", `location.pathname !== "/signin"`)
	bob.run("open the account page", chromedp.Navigate(srv.URL+"/account"))
	bob.waitText("the suspension listed with its reason", `#my-audit li[data-action="user.suspended"]`, "Security review, call IT")
}

// recordCSPViolations keeps what the page's CSP blocks in window.kaigiCSP.
const recordCSPViolations = `(() => {
  window.kaigiCSP = [];
  document.addEventListener("securitypolicyviolation", (e) => window.kaigiCSP.push(e.violatedDirective + " " + e.blockedURI));
})()`

// checkUsageCard: the admin page's usage card draws its charts itself as
// SVG under the strict CSP (nothing blocked, colours from the stylesheet):
// a bar a day of the last 30 days, today's the one meeting held, with the
// figures as a table too; then a bar a week of the last 12 weeks.
func checkUsageCard(admin *tab) {
	admin.t.Helper()
	bars := `#usage svg[data-series="meetings"] rect.usage-bar`
	admin.waitJS("a bar a day", `document.querySelectorAll('`+bars+`').length === 30`)
	var got struct {
		Today, Others, Rows int
		Height              float64
		Label, Fill         string
		Recording           bool
		Blocked             []string
	}
	if err := admin.eval(`(() => {
		const bars = [...document.querySelectorAll('`+bars+`')];
		const today = bars[bars.length - 1];
		return {
			today: Number(today.dataset.value),
			others: bars.slice(0, -1).reduce((n, b) => n + Number(b.dataset.value), 0),
			height: today.getBBox().height,
			label: today.closest("svg").getAttribute("aria-label"),
			fill: getComputedStyle(today).fill,
			rows: document.querySelectorAll("#usage-table tbody tr").length,
			recording: Array.isArray(window.kaigiCSP),
			blocked: window.kaigiCSP,
		};
	})()`, &got); err != nil {
		admin.t.Fatal(err)
	}
	if got.Today != 1 || got.Others != 0 || got.Height <= 0 || got.Rows != 30 || !strings.Contains(got.Label, "1 meeting in all") {
		admin.t.Fatalf("usage card: %+v; want today's bar 1 meeting and drawn, the others 0, 30 table rows, a summary", got)
	}
	if got.Fill == "" || got.Fill == "rgb(0, 0, 0)" || !got.Recording || len(got.Blocked) > 0 {
		admin.t.Fatalf("usage card: fill %q (SVG's default black: the stylesheet did not apply), CSP violations recorded %v: %v", got.Fill, got.Recording, got.Blocked)
	}
	admin.run("show the last 12 weeks", chromedp.SetValue("#usage-range", "12w", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#usage-range").dispatchEvent(new Event("change"))`, nil))
	admin.waitJS("a bar a week and a point a week", `document.querySelectorAll('`+bars+`').length === 12 &&
		document.querySelectorAll('#usage svg[data-series="peakParticipants"] circle.usage-point').length === 12 &&
		document.querySelector("#usage-by-week").checked`)
}
