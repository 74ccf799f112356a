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
	var n int
	if err := bob.eval(`document.querySelectorAll("#recovery-codes ol.codes li").length`, &n); err != nil || n != 10 {
		t.Fatalf("%d recovery codes shown (%v), want 10", n, err)
	}
	bob.screenshot("recovery-codes")
	bob.click("#codes-saved")
	bob.click("#codes-done")
	bob.waitVisible("two-factor on", `#twofactor-status[data-state="on"]`)
	bob.waitVisible("ten codes left", `#recovery-left[data-count="10"]`)
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
