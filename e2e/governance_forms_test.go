package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestCountryAndRetentionForms: on a server with a GeoIP database (the
// test's puts 127.0.0.1 in DE), an administrator sets the organisation's
// retention limits and country rule through the admin page's form (a
// code that is no country is refused, named, and nothing is saved), and a
// host gives an existing meeting its own country rule through the edit
// dialog of their meetings list; the server then keeps both, and the
// pre-join check from 127.0.0.1 refuses DE by the meeting's rule.
func TestCountryAndRetentionForms(t *testing.T) {
	db := loopbackInGermany(t)
	srv := startServer(t, servertest.Options{Config: func(c *config.Config) { c.GeoIP.Database = db }})
	admin := srv.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())
	alex := newTab(t, "Alex")
	alex.signedInAs(srv, admin)

	// The organisation's form.
	alex.run("open the admin page", chromedp.Navigate(srv.URL+"/admin"))
	alex.waitVisible("the organisation's country fields", "#org-country-mode")
	alex.typeInto("#retention-meetings-days", "90")
	alex.typeInto("#retention-sessions-days", "7")
	chooseOption(alex, "#org-country-mode", "deny")
	alex.typeInto("#org-country-codes", "ru XY")
	alex.click("#org-save")
	alex.waitText("the code that is no country named", "#org-error", `"XY" is not an ISO 3166-1 alpha-2 country code`)
	var org struct {
		Retention struct{ MeetingDays, ExpiredSessionDays int }
		Country   *struct {
			Mode  string
			Codes []string
		}
	}
	if code := admin.Do(t, "GET", "/api/admin/org", nil, &org); code != http.StatusOK || org.Retention.MeetingDays == 90 || org.Country != nil && org.Country.Mode != "" {
		t.Fatalf("a refused form saved something: %d %+v", code, org)
	}
	alex.typeInto("#org-country-codes", "ru, by")
	alex.click("#org-save")
	alex.waitText("saved", "#org-status", "Saved")
	if code := admin.Do(t, "GET", "/api/admin/org", nil, &org); code != http.StatusOK || org.Retention.MeetingDays != 90 || org.Retention.ExpiredSessionDays != 7 ||
		org.Country == nil || org.Country.Mode != "deny" || !slices.Equal(org.Country.Codes, []string{"BY", "RU"}) {
		t.Fatalf("after saving the form, the organisation is %d %+v %+v", code, org, org.Country)
	}
	alex.run("reload the admin page", chromedp.Navigate(srv.URL+"/admin"))
	alex.waitJS("the saved rule shown again", `document.querySelector("#org-country-codes").value === "BY RU" && document.querySelector("#retention-meetings-days").value === "90"`)

	// A meeting's own rule, from the meetings list's edit dialog.
	alex.run("open the home page", chromedp.Navigate(srv.URL+"/"))
	item := `#meetings li[data-meeting="` + m.ID + `"]`
	alex.click(item + ` [data-action="edit"]`)
	alex.waitVisible("the edit dialog's country fields", "#edit-meeting #edit-country-mode")
	if got := alex.text("#edit-meeting #edit-country .hint"); !strings.Contains(got, "BY") || !strings.Contains(got, "RU") {
		t.Errorf("the dialog's note on the organisation's rule says %q", got)
	}
	chooseOption(alex, "#edit-country-mode", "deny")
	alex.typeInto("#edit-country-codes", "de")
	alex.click("#edit-meeting-save")
	alex.waitText("the meeting saved", "#meetings-status", "saved")
	var got struct {
		Settings struct {
			Country *struct {
				Mode  string
				Codes []string
			}
		}
	}
	if code := admin.Do(t, "GET", "/api/meetings/"+m.ID, nil, &got); code != http.StatusOK || got.Settings.Country == nil ||
		got.Settings.Country.Mode != "deny" || !slices.Equal(got.Settings.Country.Codes, []string{"DE"}) {
		t.Fatalf("after the edit the meeting's rule is %d %+v", code, got.Settings.Country)
	}
	resp, err := http.Get(srv.URL + "/api/meetings/" + m.ID + "/admission?device=e2e-check")
	if err != nil {
		t.Fatal(err)
	}
	var said struct{ CountryNotAllowed string }
	err = json.NewDecoder(resp.Body).Decode(&said)
	resp.Body.Close()
	if err != nil || !strings.Contains(said.CountryNotAllowed, "this meeting's rule") {
		t.Fatalf("the admission check from 127.0.0.1 (DE) said %+v (err %v)", said, err)
	}
	alex.screenshot("country-rules")
}

// chooseOption picks an option of a select as a person does: the value,
// then the change event the page listens for.
func chooseOption(tb *tab, selector, value string) {
	tb.t.Helper()
	tb.run("choose "+value+" in "+selector, chromedp.SetValue(selector, value, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector(`+strconv.Quote(selector)+`).dispatchEvent(new Event("change", {bubbles: true}))`, nil))
}

// TestRegionToldBeforeTheCamera: on a node labelled eu-central, the
// invite of a meeting held only in us-east shows the server's refusal
// before anything asks for the camera, without the join form; a meeting
// held in eu-central says so on its pre-join page.
func TestRegionToldBeforeTheCamera(t *testing.T) {
	srv := startServer(t, servertest.Options{Config: func(c *config.Config) { c.Region = "eu-central" }})
	host := srv.Admin(t)
	in := func(r string) *meeting.Settings {
		set := servertest.OpenSettings()
		set.Regions = &meeting.Regions{r}
		return set
	}
	elsewhere, here := host.NewMeeting(t, in("us-east")), host.NewMeeting(t, in("eu-central"))

	gus := newTab(t, "Gus")
	gus.run("count camera starts", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(countCameraStarts).Do(ctx)
		return err
	}))
	gus.run("open the invite of the meeting held in us-east", chromedp.Navigate(srv.URL+"/m/"+elsewhere.ID))
	gus.waitVisible("the region refusal", `#fatal-error[data-code="region_not_allowed"]`)
	if got := gus.text("#fatal-error .notice-message"); !strings.Contains(got, "only in us-east") || !strings.Contains(got, "eu-central") {
		t.Errorf("the refusal says %q", got)
	}
	var started int
	if err := gus.eval(`window.kaigiTestGUM`, &started); err != nil || started != 0 {
		t.Fatalf("the page asked for the camera or microphone %d times (err %v)", started, err)
	}
	if n := gus.count("#join"); n != 0 {
		t.Error("the join button is shown on the refusal")
	}
	gus.screenshot("region-refused")

	gus.openPrejoin(srv.URL + "/m/" + here.ID)
	gus.waitText("the meeting's region told", "#prejoin-regions", "Held only on servers in eu-central.")

	// The organisation's regions, from the admin page: a label that is
	// none is refused and named; a good one is saved lower-cased.
	alex := newTab(t, "Alex")
	alex.signedInAs(srv, host)
	alex.run("open the admin page", chromedp.Navigate(srv.URL+"/admin"))
	alex.waitText("this server's region told", "#org-form", "This server is in eu-central")
	alex.typeInto("#org-regions", "eu_west")
	alex.click("#org-save")
	alex.waitText("the bad label named", "#org-regions-error", `"eu_west" is not a region label`)
	alex.typeInto("#org-regions", "EU-Central, eu-west")
	alex.click("#org-save")
	alex.waitText("saved", "#org-status", "Saved")
	var org struct{ Regions []string }
	if code := host.Do(t, "GET", "/api/admin/org", nil, &org); code != http.StatusOK || strings.Join(org.Regions, " ") != "eu-central eu-west" {
		t.Fatalf("the organisation's regions after the form: %d %v", code, org.Regions)
	}

	// A meeting's own regions, from the Edit dialog of the meetings list:
	// moved to eu-west, it is no longer held on this eu-central server.
	alex.run("open the home page", chromedp.Navigate(srv.URL+"/"))
	alex.click(`#meetings li[data-meeting="` + here.ID + `"] [data-action="edit"]`)
	alex.waitText("the dialog's regions field", "#edit-meeting", "This server is in eu-central")
	alex.typeInto("#edit-regions", "eu-west")
	alex.click("#edit-meeting-save")
	alex.waitText("the meeting saved", "#meetings-status", "saved")
	var m struct{ Settings struct{ Regions []string } }
	if code := host.Do(t, "GET", "/api/meetings/"+here.ID, nil, &m); code != http.StatusOK || strings.Join(m.Settings.Regions, " ") != "eu-west" {
		t.Fatalf("the meeting's regions after the dialog: %d %v", code, m.Settings.Regions)
	}
	gus.run("open the invite again", chromedp.Navigate(srv.URL+"/m/"+here.ID))
	gus.waitVisible("now refused here", `#fatal-error[data-code="region_not_allowed"]`)
}
