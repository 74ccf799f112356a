package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/oidctest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestSSOSignIn: in Chromium, with the organisation's provider set up
// (internal/oidctest on loopback), the sign-in page offers "Sign in with
// Example ID"; clicking it goes to the provider and back and lands on
// the home page signed in as the account the first sign-in made. When
// the person cancels at the provider, the browser comes back to the
// sign-in page with a sentence of Kaigi's own, signed out. The
// administrator's Single sign-on card shows the redirect URI to register
// and that a secret is kept, never the secret, and saves a new label that
// the sign-in page then offers (the secret kept: it still signs in).
func TestSSOSignIn(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	p := oidctest.New(t, "kaigi", "e2e-client-secret", nil)
	p.SetPerson(oidctest.Person{Subject: "e2e-1", Email: "sso.person@example.org", EmailVerified: true, Name: "Sso Person"})
	admin := srv.Admin(t)
	settings := map[string]any{"enabled": true, "issuer": p.Issuer, "clientId": "kaigi", "clientSecret": "e2e-client-secret", "label": "Example ID", "allowCreate": true}
	if code := admin.Do(t, "PUT", "/api/admin/sso", settings, nil); code != http.StatusOK {
		t.Fatalf("PUT /api/admin/sso: %d", code)
	}

	tb := newTab(t, "sso")
	tb.run("open the sign-in page", chromedp.Navigate(srv.URL+"/signin"))
	tb.waitText("the single sign-on button", "#sso-signin", "Sign in with Example ID")
	tb.click("#sso-signin")
	tb.waitFor("the signed-in home page", `#home[data-signed-in="true"]`)
	var email string
	if err := tb.eval(`fetch("/api/me").then((r) => r.json()).then((m) => m.user.email)`, &email); err != nil || email != "sso.person@example.org" {
		t.Fatalf("signed in as %q, %v", email, err)
	}
	if p.Issued() != 1 {
		t.Fatalf("the provider issued %d ID tokens, want 1", p.Issued())
	}

	p.Deny(true)
	other := newTab(t, "cancelled")
	other.run("open the sign-in page", chromedp.Navigate(srv.URL+"/signin"))
	other.waitVisible("the single sign-on button", "#sso-signin")
	other.click("#sso-signin")
	other.waitText("the refusal in words", "#signin-error", "did not confirm who you are")
	var status int
	if err := other.eval(`fetch("/api/me").then((r) => r.status)`, &status); err != nil || status != http.StatusUnauthorized {
		t.Fatalf("after cancelling, /api/me answered %d, %v", status, err)
	}

	adminTab := newTab(t, "admin")
	adminTab.signedInAs(srv, admin)
	adminTab.run("open the admin page", chromedp.Navigate(srv.URL+"/admin"))
	adminTab.waitText("the redirect URI", "#sso-redirect-uri", "/api/auth/oidc/callback")
	adminTab.waitText("the kept secret's note", "#sso-client-secret-hint", "A secret is kept")
	var secret string
	if err := adminTab.eval(`document.querySelector("#sso-client-secret").value + document.body.innerText`, &secret); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(secret, "e2e-client-secret") {
		t.Fatal("the admin page shows the client secret")
	}

	// The card saves: a new label (the secret field left empty keeps the
	// secret), which the sign-in page then shows and which still signs in.
	adminTab.typeInto("#sso-label", "Staff login")
	adminTab.click("#sso-save")
	adminTab.waitText("the saved status", "#sso-status", "Saved.")
	third := newTab(t, "relabelled")
	third.run("open the sign-in page", chromedp.Navigate(srv.URL+"/signin"))
	third.waitText("the new label", "#sso-signin", "Sign in with Staff login")
	p.Deny(false)
	third.click("#sso-signin")
	third.waitFor("the signed-in home page after the change", `#home[data-signed-in="true"]`)
}
