package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/auth"
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

// TestTwoFactorRequired: when the organisation requires two-factor, an
// account without it is sent from the home page to set it up, with the
// reason.
func TestTwoFactorRequired(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	admin := srv.Admin(t)
	acct := srv.NewAccount(t, "cy@example.org", "Cy")
	var org map[string]any
	admin.Do(t, "GET", "/api/admin/org", nil, &org)
	org["require2FA"] = true
	if code := admin.Do(t, "PUT", "/api/admin/org", org, nil); code != http.StatusOK {
		t.Fatalf("require two-factor: %d", code)
	}
	cy := newTab(t, "Cy")
	cy.signedInAs(srv, acct)
	cy.run("open the home page", chromedp.Navigate(srv.URL+"/"))
	cy.waitVisible("the explanation", "#twofactor-required")
	cy.waitJS("sent to the account page", `location.pathname === "/account"`)
	cy.waitVisible("the enrolment started", "#twofactor-secret")
	cy.waitGone("no way to skip it", "#twofactor-cancel")
	cy.screenshot("required")
}
