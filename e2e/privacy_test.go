package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/server"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/web"
)

// TestPrivacyAndAboutReachable: a first-time visitor finds the privacy page
// from the landing page's footer, the transparency report (every category
// counted, the chain verified) and the about page from there, which
// shows the version and the SHA-256 of the web client the browser was
// served (as web.Digest computes it from the embedded files); the pre-join
// page has the same footer, and the meeting's "More" menu links to both in
// a new tab, so the meeting goes on.
func TestPrivacyAndAboutReachable(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	id := srv.NewMeeting(t)
	digest, _, err := web.Digest(web.Dist())
	if err != nil {
		t.Fatal(err)
	}
	ada := newTab(t, "Ada")

	ada.run("open the landing page", chromedp.Navigate(srv.URL+"/"))
	ada.waitVisible("the footer's privacy link", "#footer-privacy")
	ada.click("#footer-privacy")
	ada.waitFor("the privacy page", `#privacy[data-loaded="true"]`)
	for _, sel := range []string{`[data-table="users"] [data-column="email"]`, `[data-table="meetings"]`, `[data-table="audit_log"]`, `#privacy-browser tr[data-key="kaigi.device"]`} {
		if ada.count(sel) != 1 {
			t.Errorf("the privacy page lacks %s", sel)
		}
	}
	ada.waitText("no third party", "#privacy-third-parties", "No third party receives any of this data")
	ada.waitText("the organisation's name", "#privacy .lead", "Kaigi runs this Kaigi server")
	ada.screenshot("privacy")

	ada.click("#footer-about")
	ada.waitFor("the about page", `#about[data-loaded="true"]`)
	if got := ada.text("#about-version"); got != server.Version {
		t.Errorf("the about page says version %q, want %q", got, server.Version)
	}
	if got := ada.text("#about-web-sha256 code"); got != digest {
		t.Errorf("the about page says the web client's SHA-256 is %q, want %q", got, digest)
	}
	if ada.attr("#about-privacy", "href") != "/privacy" {
		t.Errorf("the about page does not link to the privacy page")
	}
	ada.screenshot("about")

	// The transparency report, from the same footer: every category, the
	// server's own start counted, from a chain that verifies.
	ada.click("#footer-transparency")
	ada.waitFor("the transparency report", `#transparency[data-loaded="true"]`)
	ada.waitVisible("the chain verifies", `#transparency-verdict[data-state="verified"]`)
	if got := ada.text(`#transparency-actions tr[data-action="server.started"] td.total`); got != "1" {
		t.Errorf("the report counts %q server starts, want 1", got)
	}
	if n := ada.count(`#transparency-actions tbody tr`); n != len(audit.Published) {
		t.Errorf("the report lists %d categories, want all %d", n, len(audit.Published))
	}
	ada.waitVisible("no legal request recorded", "#transparency-no-legal")

	ada.openPrejoin(srv.URL + "/m/" + id)
	if ada.attr("#prejoin #footer-privacy", "href") != "/privacy" || ada.attr("#prejoin #footer-about", "href") != "/about" {
		t.Errorf("the pre-join page has no privacy and about links")
	}
	ada.joinMeeting("")
	ada.click("#more-controls")
	ada.waitVisible("the privacy item in the More menu", "#more-controls-menu #menu-privacy")
	for sel, href := range map[string]string{"#menu-privacy": "/privacy", "#menu-transparency": "/transparency", "#menu-about": "/about"} {
		if ada.attr(sel, "href") != href || ada.attr(sel, "target") != "_blank" || ada.attr(sel, "rel") != "noopener" {
			t.Errorf("%s: href %q target %q rel %q, want %s in a new tab", sel, ada.attr(sel, "href"), ada.attr(sel, "target"), ada.attr(sel, "rel"), href)
		}
	}
	ada.screenshot("more-menu-links")
}
