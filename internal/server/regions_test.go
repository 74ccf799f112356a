package server_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// TestRegionRules: a node labelled eu-central holds only meetings whose
// allowed regions include it. A meeting held only in us-east is refused to
// everyone with region_not_allowed naming where it may be held, and the
// pre-join check says so; the organisation's regions narrow every
// meeting's; a meeting in progress ends for everyone when the
// organisation moves it out of this node's region; and a host cannot move
// a meeting in progress out of the node from inside it.
func TestRegionRules(t *testing.T) {
	srv := startServer(t, func(c *config.Config, _ *signal.Options) { c.Region = "eu-central" })
	admin := srv.Admin(t)
	in := func(regions ...string) *meeting.Settings {
		set := servertest.OpenSettings()
		r := meeting.Regions(regions)
		set.Regions = &r
		return set
	}
	usEast := admin.NewMeeting(t, in("us-east"))
	_, err := srv.joinAs(t, client.Options{Meeting: usEast.ID, Name: "Gus"})
	refusedWith(t, err, "region_not_allowed")
	var r *client.Refused
	if errors.As(err, &r); !strings.Contains(r.Message, "only in us-east") || !strings.Contains(r.Message, "a server in eu-central") {
		t.Fatalf("refusal %q does not say where the meeting may be held and where this server is", r.Message)
	}
	got := admission(t, srv, usEast.ID, "127.0.0.1")
	if got["regionNotAllowed"] == nil || !strings.Contains(got["regionNotAllowed"].(string), "us-east") {
		t.Fatalf("admission = %v, want regionNotAllowed naming us-east", got)
	}

	// Anywhere (no region named): held here.
	open := admin.NewMeeting(t, servertest.OpenSettings())
	gus := srv.mustJoinAs(t, client.Options{Meeting: open.ID, Name: "Gus"})
	if got := admission(t, srv, open.ID, "127.0.0.2"); got["regions"] != nil || got["regionNotAllowed"] != nil {
		t.Fatalf("admission of a meeting with no regions = %v", got)
	}

	// A host may not move the meeting in progress out of this node.
	h := srv.mustJoinAs(t, client.Options{Meeting: open.ID, Name: "Host", Cookie: admin.Cookie()})
	n := len(h.Errors())
	set := servertest.OpenSettings()
	set.Regions = &meeting.Regions{"us-east"}
	h.Control("settings", map[string]any{"settings": set})
	if code := lastError(t, h, n); code != "bad_settings" {
		t.Fatalf("a host moving the meeting out of this node: %q, want bad_settings", code)
	}

	// The organisation's regions narrow every meeting's: eu-central and
	// eu-west, with a meeting of its own in eu-west only, leave nowhere
	// here for that meeting.
	var org map[string]any
	admin.Do(t, "GET", "/api/admin/org", nil, &org)
	if org["region"] != "eu-central" {
		t.Fatalf("the organisation's answer says this node is in %v", org["region"])
	}
	delete(org, "geoip")
	delete(org, "region")
	org["regions"] = []string{"eu-west", "eu-central"}
	if code := admin.Do(t, "PUT", "/api/admin/org", org, &org); code != http.StatusOK {
		t.Fatalf("PUT org = %d %v", code, org)
	}
	euWest := admin.NewMeeting(t, in("eu-west"))
	_, err = srv.joinAs(t, client.Options{Meeting: euWest.ID, Name: "Lea"})
	refusedWith(t, err, "region_not_allowed")
	if got := admission(t, srv, euWest.ID, "127.0.0.3"); !strings.Contains(got["regionNotAllowed"].(string), "only in eu-west") {
		t.Fatalf("admission under the organisation's regions = %v", got)
	}
	if gus.Waiting() != "" || participant(h, gus.Self().ID).ID == "" {
		t.Fatal("the open meeting was disturbed while this node stayed in its regions")
	}

	// The organisation moves every meeting to us-east: the one in progress
	// here ends for everyone, saying why, and nobody new gets in.
	delete(org, "geoip")
	delete(org, "region")
	org["regions"] = []string{"us-east"}
	if code := admin.Do(t, "PUT", "/api/admin/org", org, nil); code != http.StatusOK {
		t.Fatalf("PUT org = %d", code)
	}
	for _, c := range []*client.Client{gus, h} {
		select {
		case <-c.Done():
		case <-waitCtx(t).Done():
			t.Fatal("a meeting this node may no longer hold went on")
		}
		if c.ClosedReason() != "ended" || !strings.Contains(c.ClosedMessage(), "only in us-east") {
			t.Fatalf("closed %q: %q", c.ClosedReason(), c.ClosedMessage())
		}
	}
	_, err = srv.joinAs(t, client.Options{Meeting: open.ID, Name: "Gus"})
	refusedWith(t, err, "region_not_allowed")
}
