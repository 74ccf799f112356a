package e2e

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/oidctest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestSSOLinkFromAccount: in Chromium, with sign-up open and linking by
// e-mail on, a person who signed up herself is not linked by her e-mail
// when she first comes from the provider: the sign-in page tells her, in
// Kaigi's words, to sign in and link from her security settings. Signed
// in (so just re-authenticated), her security settings offer "Link
// Example ID"; it goes to the provider and back to the settings, which
// say it is linked; from then on "Sign in with Example ID" signs her in.
func TestSSOLinkFromAccount(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	p := oidctest.New(t, "kaigi", "e2e-client-secret", nil)
	admin := srv.Admin(t)
	var org map[string]any
	if code := admin.Do(t, "GET", "/api/admin/org", nil, &org); code != http.StatusOK {
		t.Fatalf("GET /api/admin/org: %d", code)
	}
	org["allowSignUp"] = true
	if code := admin.Do(t, "PUT", "/api/admin/org", org, nil); code != http.StatusOK {
		t.Fatalf("open sign-up: %d", code)
	}
	settings := map[string]any{"enabled": true, "issuer": p.Issuer, "clientId": "kaigi", "clientSecret": "e2e-client-secret", "label": "Example ID", "linkByEmail": true}
	if code := admin.Do(t, "PUT", "/api/admin/sso", settings, nil); code != http.StatusOK {
		t.Fatalf("PUT /api/admin/sso: %d", code)
	}
	p.SetPerson(oidctest.Person{Subject: "cy-1", Email: "cy@example.org", EmailVerified: true, Name: "Cy"})

	cy := newTab(t, "cy")
	cy.run("open the sign-in page", chromedp.Navigate(srv.URL+"/signin"))
	var status int
	if err := cy.eval(`fetch("/api/auth/signup", {method: "POST", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({email: "cy@example.org", name: "Cy", password: "cy's own long password"})}).then((r) => r.status)`, &status); err != nil || status != http.StatusCreated {
		t.Fatalf("sign up: %d, %v", status, err)
	}

	first := newTab(t, "provider first")
	first.run("open the sign-in page", chromedp.Navigate(srv.URL+"/signin"))
	first.waitVisible("the single sign-on button", "#sso-signin")
	first.click("#sso-signin")
	first.waitText("the refusal in words", "#signin-error", "link single sign-on from your security settings")
	if err := first.eval(`fetch("/api/me").then((r) => r.status)`, &status); err != nil || status != http.StatusUnauthorized {
		t.Fatalf("after the refused link, /api/me answered %d, %v", status, err)
	}

	cy.run("open the security settings", chromedp.Navigate(srv.URL+"/account"))
	cy.waitText("the link button", "#sso-link-button", "Link Example ID")
	cy.click("#sso-link-button")
	cy.waitText("the linked note", "#sso-linked", "Example ID is linked to this account")

	again := newTab(t, "provider again")
	again.run("open the sign-in page", chromedp.Navigate(srv.URL+"/signin"))
	again.waitVisible("the single sign-on button", "#sso-signin")
	again.click("#sso-signin")
	again.waitFor("the signed-in home page", `#home[data-signed-in="true"]`)
	var email string
	if err := again.eval(`fetch("/api/me").then((r) => r.json()).then((m) => m.user.email)`, &email); err != nil || email != "cy@example.org" {
		t.Fatalf("signed in through the provider as %q, %v", email, err)
	}
}
