package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/passkeytest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// startPasskeyServer starts a server whose public URL is
// http://localhost:<port>: passkeys are bound to a domain name (a page
// at 127.0.0.1 cannot use them), and localhost is one browsers treat as
// secure without TLS. The port is picked free just before.
func startPasskeyServer(t *testing.T) *servertest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return startServer(t, servertest.Options{Config: func(c *config.Config) {
		c.Listen = "127.0.0.1:" + port
		c.PublicURL = "http://localhost:" + port
	}})
}

// virtualAuthenticator gives the tab Chromium's virtual authenticator
// (DevTools' WebAuthn domain): a platform authenticator with resident
// keys that verifies its user (as a fingerprint would) without asking.
func (tb *tab) virtualAuthenticator() webauthn.AuthenticatorID {
	tb.t.Helper()
	var id webauthn.AuthenticatorID
	tb.run("add a virtual authenticator", chromedp.ActionFunc(func(ctx context.Context) error {
		if err := webauthn.Enable().Do(ctx); err != nil {
			return err
		}
		var err error
		id, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}).Do(ctx)
		return err
	}))
	return id
}

// credentials lists what the virtual authenticator holds.
func (tb *tab) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	tb.t.Helper()
	var creds []*webauthn.Credential
	tb.run("list the authenticator's credentials", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		creds, err = webauthn.GetCredentials(id).Do(ctx)
		return err
	}))
	return creds
}

// signOutUI signs out from the account menu and waits for the sign-in page.
func (tb *tab) signOutUI() {
	tb.t.Helper()
	tb.click("#account-menu-button")
	tb.click(`[role="menuitem"][data-action="signout"]`)
	tb.waitVisible("the sign-in page", "#signin-form")
}

// TestPasskeySignIn: in Chromium with a virtual authenticator, Bob adds a
// passkey on the account page (after his password; his recovery codes
// are shown with it), signs out, signs in with the passkey alone (no
// e-mail, no password), signs out again, and signs in with his password
// and the passkey as the second step. The authenticator holds one
// discoverable credential for the server's domain, and the audit log has
// the registration and both sign-ins.
func TestPasskeySignIn(t *testing.T) {
	srv := startPasskeyServer(t)
	acct := srv.NewAccount(t, "bob@example.org", "Bob")
	bob := newTab(t, "Bob")
	auth := bob.virtualAuthenticator()
	bob.signInUI(srv.URL, acct.Email, acct.Pass, "")

	bob.run("open the account page", chromedp.Navigate(srv.URL+"/account"))
	bob.waitVisible("the passkey form", "#passkey-add-form")
	bob.waitVisible("no passkey yet", `#passkeys-count[data-count="0"]`)
	bob.typeInto("#passkey-name", "Laptop")
	bob.typeInto("#passkey-password", acct.Pass)
	bob.click("#passkey-add")
	bob.waitVisible("the recovery codes that come with the first passkey", "#recovery-codes")
	bob.click("#codes-saved")
	bob.click("#codes-done")
	bob.waitVisible("one passkey", `#passkeys-count[data-count="1"]`)
	bob.waitText("the passkey listed by name", "#passkey-list .passkey-name", "Laptop")
	bob.waitVisible("his recovery codes counted", `#passkey-recovery-left[data-count="10"]`)
	creds := bob.credentials(auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v, want one discoverable credential for localhost", creds)
	}
	registered := creds[0].SignCount

	// The passkey alone.
	bob.signOutUI()
	bob.waitVisible("the passkey button", "#passkey-signin")
	bob.click("#passkey-signin")
	bob.waitFor("signed in with the passkey", `#home[data-signed-in="true"] #new-meeting`)

	// The password, then the passkey as the second step.
	bob.run("open the account page", chromedp.Navigate(srv.URL+"/account"))
	bob.waitVisible("the account page", "#passkeys")
	bob.signOutUI()
	bob.typeInto("#email", acct.Email)
	bob.typeInto("#password", acct.Pass)
	bob.click("#signin-submit")
	bob.waitVisible("the second step offers the passkey", "#passkey-second")
	bob.click("#passkey-second")
	bob.waitFor("signed in with the password and the passkey", `#home[data-signed-in="true"] #new-meeting`)

	var page struct {
		Entries []struct {
			Action  string
			Details map[string]string
		}
	}
	if code := srv.Admin(t).Do(t, "GET", "/api/admin/audit", nil, &page); code != http.StatusOK {
		t.Fatalf("audit log: %d", code)
	}
	got := map[string]int{}
	for _, e := range page.Entries {
		if e.Action == "user.passkey_sign_in" {
			got[e.Details["as"]]++
		} else {
			got[e.Action]++
		}
	}
	if got["user.passkey_added"] != 1 || got["alone"] != 1 || got["second factor"] != 1 {
		t.Fatalf("audit entries: %v", got)
	}
	if creds := bob.credentials(auth); len(creds) != 1 || creds[0].SignCount != registered+2 {
		t.Fatalf("after two sign-ins the authenticator holds %d credentials, sign count %d (%d after registering)", len(creds), creds[0].SignCount, registered)
	}
}

// TestPasskeyRequired: the administrator (with a passkey of their own,
// registered through the API with the software authenticator) requires
// passkeys; Bob, without one, signs in with his password and is sent to
// his account page, told why, and cannot reach the home page until he
// adds one; then he can.
func TestPasskeyRequired(t *testing.T) {
	srv := startPasskeyServer(t)
	admin := srv.Admin(t)
	acct := srv.NewAccount(t, "bob@example.org", "Bob")
	var begun struct {
		Flow    string
		Options json.RawMessage
	}
	if code := admin.Do(t, "POST", "/api/me/passkeys/begin", map[string]string{"password": admin.Pass}, &begun); code != http.StatusOK {
		t.Fatalf("the administrator's registration: %d", code)
	}
	resp, _, err := (&passkeytest.Authenticator{Origin: srv.URL}).Create(begun.Options)
	if err != nil {
		t.Fatal(err)
	}
	if code := admin.Do(t, "POST", "/api/me/passkeys/finish", map[string]any{"flow": begun.Flow, "name": "Admin's", "credential": json.RawMessage(resp)}, nil); code != http.StatusCreated {
		t.Fatalf("the administrator's passkey: %d", code)
	}
	var org map[string]any
	admin.Do(t, "GET", "/api/admin/org", nil, &org)
	org["requirePasskeys"] = true
	if code := admin.Do(t, "PUT", "/api/admin/org", org, nil); code != http.StatusOK {
		t.Fatalf("require passkeys: %d", code)
	}

	bob := newTab(t, "Bob")
	bob.virtualAuthenticator()
	bob.run("open the sign-in page", chromedp.Navigate(srv.URL+"/signin"))
	bob.typeInto("#email", acct.Email)
	bob.typeInto("#password", acct.Pass)
	bob.click("#signin-submit")
	bob.waitVisible("told a passkey is required", "#passkey-required")
	bob.run("try the home page", chromedp.Navigate(srv.URL+"/"))
	bob.waitVisible("sent back to add a passkey", "#passkey-required")
	bob.typeInto("#passkey-name", "Laptop")
	bob.typeInto("#passkey-password", acct.Pass)
	bob.click("#passkey-add")
	bob.waitVisible("the recovery codes", "#recovery-codes")
	bob.click("#codes-saved")
	bob.click("#codes-done")
	bob.waitFor("the home page at last", `#home[data-signed-in="true"] #new-meeting`)
}
