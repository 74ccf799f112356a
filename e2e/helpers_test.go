package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// The steps people take in the UI, shared by the tests.

// signedInAs gives the tab's browser context the account's session
// cookie, as if it had signed in (for tests that are not about signing in).
func (tb *tab) signedInAs(srv *servertest.Server, a *servertest.Account) {
	tb.t.Helper()
	u, _ := url.Parse(srv.URL)
	for _, c := range a.HTTP.Jar.Cookies(u) {
		tb.run("set the session cookie", chromedp.ActionFunc(func(ctx context.Context) error {
			return network.SetCookie(c.Name, c.Value).WithURL(srv.URL + "/").WithHTTPOnly(true).
				WithSameSite(network.CookieSameSiteLax).Do(ctx)
		}))
	}
}

// typeInto replaces the text of an input.
func (tb *tab) typeInto(selector, text string) {
	tb.t.Helper()
	if tb.ff != nil {
		tb.waitVisible("to type into "+selector, selector)
		tb.runBiDi("type into "+selector, func(ctx context.Context) error { return tb.ff.typeText(ctx, selector, text) })
		return
	}
	tb.run("type into "+selector,
		chromedp.WaitVisible(selector, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).value = ""`, selector), nil),
		chromedp.SendKeys(selector, text, chromedp.ByQuery),
	)
}

// text returns the text of the first element matching selector.
func (tb *tab) text(selector string) string {
	tb.t.Helper()
	var s string
	if err := tb.eval(fmt.Sprintf(`(document.querySelector(%q)?.textContent) ?? ""`, selector), &s); err != nil {
		tb.t.Fatal(err)
	}
	return s
}

// waitVisible waits until an element matching selector is shown.
func (tb *tab) waitVisible(what, selector string) {
	tb.t.Helper()
	tb.waitJS(what, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e !== null && e.checkVisibility(); })()`, selector))
}

// clickInMore opens the controls bar's "More" menu and clicks one of its
// items (device settings, layout, full screen, polls, the host's settings
// and breakout rooms).
func (tb *tab) clickInMore(selector string) {
	tb.t.Helper()
	tb.click("#more-controls")
	tb.waitVisible("the More menu", "#more-controls-menu")
	tb.click(selector)
}

// waitText waits until the element's text contains want.
func (tb *tab) waitText(what, selector, want string) {
	tb.t.Helper()
	tb.waitJS(what, fmt.Sprintf(`((document.querySelector(%q)?.textContent) ?? "").includes(%q)`, selector, want))
}

// signInUI signs in through /signin, with the second step when the
// account has two-factor on (secret != "").
func (tb *tab) signInUI(srvURL, email, password, secret string) {
	tb.t.Helper()
	tb.run("open the sign-in page", chromedp.Navigate(srvURL+"/signin"))
	tb.typeInto("#email", email)
	tb.typeInto("#password", password)
	tb.click("#signin-submit")
	if secret != "" {
		tb.waitVisible("the code step", "#totp-code")
		code, err := auth.TOTPCode(secret, time.Now())
		if err != nil {
			tb.t.Fatal(err)
		}
		tb.typeInto("#totp-code", code)
		tb.click("#code-submit")
	}
	tb.waitFor("the signed-in home page", `#home[data-signed-in="true"] #new-meeting`)
}

// createMeetingUI clicks "New meeting" on the signed-in home page, after
// adjust changes its options (nil: the defaults), and returns the invite
// link and the passcode shown.
func (tb *tab) createMeetingUI(srvURL string, adjust func()) (invite, passcode string) {
	tb.t.Helper()
	tb.run("open the home page", chromedp.Navigate(srvURL+"/"))
	tb.waitVisible("the new meeting button", "#new-meeting")
	if adjust != nil {
		tb.click("#meeting-options > summary")
		adjust()
	}
	tb.click("#new-meeting")
	tb.waitVisible("the new meeting's card", "#created #meeting-link")
	invite = tb.text("#meeting-link")
	passcode = tb.text("#meeting-passcode")
	if !strings.HasPrefix(invite, srvURL+"/m/") {
		tb.t.Fatalf("invite link %q does not point to %s/m/", invite, srvURL)
	}
	return invite, passcode
}

// joinTo opens a link, types a name (and the passcode, if given) and
// clicks join, without waiting for the outcome.
func (tb *tab) joinTo(link, passcode string) {
	tb.t.Helper()
	tb.openPrejoin(link)
	tb.typeInto("#display-name", tb.name)
	if passcode != "" {
		tb.typeInto("#passcode", passcode)
	}
	tb.click("#join")
}

// enableTOTP turns two-factor on for an account through the API and
// returns its secret. The confirming code is the previous time step's
// (the server allows one step of skew), so that a sign-in with the current
// code right after is not refused as a code used twice.
func enableTOTP(t *testing.T, a *servertest.Account) string {
	t.Helper()
	var e struct{ Secret string }
	if code := a.Do(t, "POST", "/api/me/2fa/begin", nil, &e); code != http.StatusOK {
		t.Fatalf("begin two-factor: %d", code)
	}
	c, err := auth.TOTPCode(e.Secret, time.Now().Add(-30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ RecoveryCodes []string }
	if code := a.Do(t, "POST", "/api/me/2fa/confirm", map[string]string{"code": c}, &out); code != http.StatusOK || len(out.RecoveryCodes) != 10 {
		t.Fatalf("confirm two-factor: %d, %d codes", code, len(out.RecoveryCodes))
	}
	return e.Secret
}

// e2eeMeeting starts a server and an open end-to-end encrypted meeting,
// and returns the server, its admin (the meeting's host) and the link.
func e2eeMeeting(t *testing.T) (*servertest.Server, *servertest.Account, string) {
	t.Helper()
	srv := startServer(t, servertest.Options{})
	host := srv.Admin(t)
	set := servertest.OpenSettings()
	set.E2EE = true
	m := host.NewMeeting(t, set)
	return srv, host, srv.URL + "/m/" + m.ID
}
