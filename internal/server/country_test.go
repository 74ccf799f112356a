package server_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/geo"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// countryDatabase builds, in the test, a GeoIP database from a tiny
// tor-format file that puts two loopback aliases in two countries:
// 127.0.0.2 in DE and 127.0.0.3 in FR. 127.0.0.1 is left out, so it is a
// private address. Loopback is all of 127.0.0.0/8 on Linux, so a client
// dials the server from either alias with from (security_test.go).
func countryDatabase(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "geoip")
	tor := "# tor-geoipdb format: FROM_INT,TO_INT,CC\n" +
		"2130706434,2130706434,DE\n" + // 127.0.0.2
		"2130706435,2130706435,FR\n" // 127.0.0.3
	if err := os.WriteFile(src, []byte(tor), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "country.mmdb")
	if _, err := geo.ImportFiles([]string{src}, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// admission asks GET /api/meetings/{id}/admission from ip.
func admission(t *testing.T, srv *testServer, id, ip string) map[string]any {
	t.Helper()
	resp, err := from(ip).Get(srv.URL + "/api/meetings/" + id + "/admission?device=d-" + ip)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
		t.Fatalf("admission from %s = %d %s", ip, resp.StatusCode, b)
	}
	return out
}

// TestCountryRules: with a GeoIP database, a participant connecting from
// a country the meeting denies (127.0.0.2, DE in the test's database) is
// refused with country_not_allowed and a message naming the rule, told so
// already by the pre-join admission check, while one from an allowed
// country (127.0.0.3, FR) is admitted and the meeting goes on: the host's
// media keeps reaching them. Then the organisation's rule denies FR: a new
// joiner from there is refused naming the organisation's rule, though the
// meeting's rule admits FR, and the one already in stays.
func TestCountryRules(t *testing.T) {
	db := countryDatabase(t)
	srv := startServer(t, func(c *config.Config, _ *signal.Options) { c.GeoIP.Database = db })
	host := srv.Admin(t)
	settings := servertest.OpenSettings()
	settings.Country = &meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"DE"}, Private: meeting.AddressAllow, Unknown: meeting.AddressAllow}
	m := host.NewMeeting(t, settings)
	if m.Settings.Country == nil || m.Settings.Country.Mode != meeting.CountryDeny {
		t.Fatalf("the meeting's rule was not kept: %+v", m.Settings.Country)
	}

	// The host connects from 127.0.0.1: private, and private is allowed.
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie(), Publish: []string{"camera"}})
	pump(t, h.Local("camera"))

	if got := admission(t, srv, m.ID, "127.0.0.2"); !strings.Contains(got["countryNotAllowed"].(string), "DE") {
		t.Fatalf("admission from DE = %v, want countryNotAllowed naming DE", got)
	}
	if got := admission(t, srv, m.ID, "127.0.0.3"); got["countryNotAllowed"] != nil || got["banned"] != false {
		t.Fatalf("admission from FR = %v, want nothing against it", got)
	}

	_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Dieter", HTTPClient: from("127.0.0.2")})
	refusedWith(t, err, "country_not_allowed")
	var r *client.Refused
	if errors.As(err, &r); !strings.Contains(r.Message, "DE") || !strings.Contains(r.Message, "this meeting's rule") {
		t.Fatalf("refusal message %q does not name the country and the meeting's rule", r.Message)
	}

	claire := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Claire", HTTPClient: from("127.0.0.3")})
	if claire.Waiting() != "" {
		t.Fatalf("Claire waits: %q", claire.Waiting())
	}
	receiving(t, claire, h, "camera", 20)
	if len(h.Roster()) != 2 {
		t.Fatalf("the host's roster = %v, want the host and Claire", h.Roster())
	}

	// The organisation now denies FR: it outranks the meeting's rule.
	var org map[string]any
	if code := host.Do(t, "GET", "/api/admin/org", nil, &org); code != http.StatusOK || org["geoip"] != true {
		t.Fatalf("GET org = %d %v, want geoip true", code, org)
	}
	org["country"] = map[string]any{"mode": "deny", "codes": []string{"FR"}, "private": "allow", "unknown": "allow"}
	delete(org, "geoip")
	if code := host.Do(t, "PUT", "/api/admin/org", org, &org); code != http.StatusOK {
		t.Fatalf("PUT org = %d %v", code, org)
	}
	_, err = srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Chloé", HTTPClient: from("127.0.0.3")})
	refusedWith(t, err, "country_not_allowed")
	if errors.As(err, &r); !strings.Contains(r.Message, "FR") || !strings.Contains(r.Message, "organisation rule") {
		t.Fatalf("refusal message %q does not name FR and the organisation's rule", r.Message)
	}
	if got := admission(t, srv, m.ID, "127.0.0.3"); !strings.Contains(got["countryNotAllowed"].(string), "organisation rule") {
		t.Fatalf("admission from FR under the organisation's rule = %v", got)
	}
	// Already in: Claire stays, and media still flows to her.
	n := claire.Track(h.Self().ID, "camera").Packets()
	receiving(t, claire, h, "camera", n+20)
	if len(h.Roster()) != 2 {
		t.Fatalf("the host's roster = %v after the refusals, want the host and Claire", h.Roster())
	}

	// Refused, not a guess: the per-address failure limit is untouched,
	// and the audit entry of the policy change shows the rule.
	var log struct {
		Entries []struct {
			Action  string            `json:"action"`
			Details map[string]string `json:"details"`
		} `json:"entries"`
	}
	if code := host.Do(t, "GET", "/api/admin/audit", nil, &log); code != http.StatusOK || len(log.Entries) == 0 {
		t.Fatalf("audit = %d", code)
	}
	found := false
	for _, e := range log.Entries {
		if e.Action == "org.policy_changed" && e.Details["country.codes"] == `["FR"]` && e.Details["country.mode"] == `"deny"` {
			found = true
		}
	}
	if !found {
		t.Fatalf("no org.policy_changed entry with the rule: %+v", log.Entries)
	}
}

// TestCountryRulesNeedADatabase: without geoip.database, no country rule
// can be set, through the organisation's policy or a meeting's settings,
// and the API says why; the org policy says geoip is false.
func TestCountryRulesNeedADatabase(t *testing.T) {
	srv := startServer(t, nil)
	host := srv.Admin(t)
	var org map[string]any
	if code := host.Do(t, "GET", "/api/admin/org", nil, &org); code != http.StatusOK || org["geoip"] != false {
		t.Fatalf("GET org = %d %v, want geoip false", code, org)
	}
	delete(org, "geoip") // read-only
	org["country"] = map[string]any{"mode": "deny", "codes": []string{"DE"}, "private": "allow", "unknown": "allow"}
	type apiError struct {
		Error struct{ Code, Message string }
	}
	var e apiError
	if code := host.Do(t, "PUT", "/api/admin/org", org, &e); code != http.StatusBadRequest || e.Error.Code != "geoip_unavailable" || !strings.Contains(e.Error.Message, "geoip.database") {
		t.Fatalf("PUT org with a rule = %d %+v", code, e)
	}
	org["country"] = map[string]any{"mode": ""}
	if code := host.Do(t, "PUT", "/api/admin/org", org, nil); code != http.StatusOK {
		t.Fatalf("PUT org with the rule off = %d", code)
	}
	settings := servertest.OpenSettings()
	settings.Country = &meeting.CountryRule{Mode: meeting.CountryDeny, Codes: []string{"DE"}, Private: meeting.AddressAllow, Unknown: meeting.AddressAllow}
	e = apiError{}
	if code := host.Do(t, "POST", "/api/meetings", map[string]any{"settings": settings}, &e); code != http.StatusBadRequest || e.Error.Code != "geoip_unavailable" {
		t.Fatalf("a meeting with a rule = %d %+v", code, e)
	}
	// Nothing is looked up: a meeting without a rule admits everyone, and
	// the admission check says nothing of countries.
	m := host.NewMeeting(t, servertest.OpenSettings())
	if got := admission(t, srv, m.ID, "127.0.0.2"); len(got) != 1 {
		t.Fatalf("admission without a database = %v", got)
	}
	srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Dieter", HTTPClient: from("127.0.0.2")})
}
