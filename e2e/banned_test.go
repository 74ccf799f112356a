package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/geo"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// countCameraStarts makes every page the tab opens count its calls to
// getUserMedia in window.kaigiTestGUM.
const countCameraStarts = `(() => {
  window.kaigiTestGUM = 0;
  const md = navigator.mediaDevices;
  if (!md || typeof md.getUserMedia !== "function") return;
  const real = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => { window.kaigiTestGUM++; return real(c); };
})()`

// TestBannedToldBeforeTheCamera: a guest a host removed and banned opens
// the invite link again and is told at once that they cannot join: no
// pre-join form, and the page never asks for the camera or microphone.
func TestBannedToldBeforeTheCamera(t *testing.T) {
	srv := startServer(t, servertest.Options{})
	host := srv.Admin(t)
	m := host.NewMeeting(t, servertest.OpenSettings())
	link := srv.URL + "/m/" + m.ID
	ada := newTab(t, "Ada")
	ada.signedInAs(srv, host)
	ada.joinMeeting(link)
	bob := newTab(t, "Bob")
	bob.run("count camera starts", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(countCameraStarts).Do(ctx)
		return err
	}))
	bob.joinMeeting(link)
	var started int
	if err := bob.eval(`window.kaigiTestGUM`, &started); err != nil || started == 0 {
		t.Fatalf("the counter saw %d camera starts when Bob joined (err %v): it does not count", started, err)
	}
	bobID := bob.selfID()

	ada.click("#toggle-participants")
	ada.click(rowOf(bobID) + ` button[data-action="more"]`)
	ada.click(rowOf(bobID) + ` [role="menuitem"][data-action="remove"]`)
	ada.waitVisible("the confirmation", "#confirm-remove")
	ada.click("#remove-ban")
	ada.click("#confirm-remove-ok")
	bob.waitVisible("the removed screen", `#fatal-error[data-code="removed"]`)

	bob.run("open the invite again", chromedp.Navigate(link))
	bob.waitVisible("the banned screen", `#fatal-error[data-code="banned"]`)
	if got := bob.text("#fatal-error h1"); !strings.Contains(got, "can't join") {
		t.Errorf("the banned screen says %q", got)
	}
	if err := bob.eval(`window.kaigiTestGUM`, &started); err != nil || started != 0 {
		t.Fatalf("the page asked for the camera or microphone %d times (err %v)", started, err)
	}
	if n := bob.count("#display-name"); n != 0 {
		t.Fatalf("the pre-join form is shown")
	}
	bob.screenshot("banned-before-camera")
}

// loopbackInGermany builds, in the test, a GeoIP database from a one-line
// tor-format file that puts 127.0.0.1, where the browser connects from,
// in DE.
func loopbackInGermany(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "geoip")
	tor := "# tor-geoipdb format: FROM_INT,TO_INT,CC\n2130706433,2130706433,DE\n" // 127.0.0.1
	if err := os.WriteFile(src, []byte(tor), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "country.mmdb")
	if _, err := geo.ImportFiles([]string{src}, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCountryToldBeforeTheCamera: a guest whose address a meeting's
// country rule refuses (127.0.0.1, DE in the test's database, in a meeting
// that denies DE) opens the invite link and is told at once, with the
// server's sentence naming the rule: no pre-join form, no Join button, the
// page never asks for the camera or microphone, and the footer's links are
// there. The same browser's pre-join page of a meeting without the rule
// does start the camera, so the counter counts and the rule is what
// refuses.
func TestCountryToldBeforeTheCamera(t *testing.T) {
	db := loopbackInGermany(t)
	srv := startServer(t, servertest.Options{Config: func(c *config.Config) { c.GeoIP.Database = db }})
	host := srv.Admin(t)
	open := host.NewMeeting(t, servertest.OpenSettings())
	settings := servertest.OpenSettings()
	settings.Country = &meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"DE"}, Private: meeting.AddressAllow, Unknown: meeting.AddressAllow}
	denied := host.NewMeeting(t, settings)

	// What the server says to this address, from the same loopback address.
	resp, err := http.Get(srv.URL + "/api/meetings/" + denied.ID + "/admission?device=e2e-check")
	if err != nil {
		t.Fatal(err)
	}
	var said struct {
		CountryNotAllowed string `json:"countryNotAllowed"`
	}
	err = json.NewDecoder(resp.Body).Decode(&said)
	resp.Body.Close()
	if err != nil || !strings.Contains(said.CountryNotAllowed, "DE") || !strings.Contains(said.CountryNotAllowed, "this meeting's rule") {
		t.Fatalf("the admission check from 127.0.0.1 said %+v (err %v), want a refusal naming DE and the meeting's rule", said, err)
	}

	dieter := newTab(t, "Dieter")
	dieter.run("count camera starts", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(countCameraStarts).Do(ctx)
		return err
	}))
	dieter.openPrejoin(srv.URL + "/m/" + open.ID)
	dieter.waitJS("a camera start on the open meeting's pre-join page", `window.kaigiTestGUM > 0`)

	dieter.run("open the invite of the meeting that denies DE", chromedp.Navigate(srv.URL+"/m/"+denied.ID))
	dieter.waitVisible("the country refusal", `#fatal-error[data-code="country_not_allowed"]`)
	if got := dieter.text("#fatal-error .notice-message"); got != said.CountryNotAllowed {
		t.Errorf("the page says %q, the server said %q", got, said.CountryNotAllowed)
	}
	var started int
	if err := dieter.eval(`window.kaigiTestGUM`, &started); err != nil || started != 0 {
		t.Fatalf("the page asked for the camera or microphone %d times (err %v)", started, err)
	}
	for _, sel := range []string{"#display-name", "#join"} {
		if n := dieter.count(sel); n != 0 {
			t.Errorf("%s is shown on the refusal", sel)
		}
	}
	for _, sel := range []string{"#footer-privacy", "#footer-transparency", "#footer-about"} {
		if n := dieter.count(sel); n != 1 {
			t.Errorf("%s: %d on the refusal, want the footer's link", sel, n)
		}
	}
	dieter.screenshot("country-before-camera")
}
