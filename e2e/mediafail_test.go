package e2e

import (
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestMediaCannotConnectIsShown: a browser whose network lets the page
// through but no media path (it may not use UDP, and the server offers
// neither ICE-TCP nor its TURN relay) is told so on the meeting screen,
// with what to try; the browser whose media connects is told nothing.
func TestMediaCannotConnectIsShown(t *testing.T) {
	off := false
	srv := startServer(t, servertest.Options{Config: func(c *config.Config) {
		c.TURN.Enabled = &off
		c.WebRTC.ICETCP = &off
	}})
	link := srv.URL + "/m/" + srv.NewMeeting(t)
	ada, bob := newTab(t, "Ada"), tcpOnly(t, "Bob")
	ada.joinMeeting(link)
	bob.joinMeeting(link)
	bob.waitVisible("the media problem banner", "#media-problem")
	text := bob.text("#media-problem")
	for _, want := range []string{"cannot connect", "another network", "VPN"} {
		if !strings.Contains(text, want) {
			t.Errorf("the banner says %q, which lacks %q", text, want)
		}
	}
	if strings.Contains(text, "relay") {
		t.Errorf("the banner says %q: the server offered no relay", text)
	}
	bob.screenshot("media-cannot-connect")
	ada.sends("camera")
	if n := ada.count("#media-problem:not([hidden])"); n != 0 {
		t.Errorf("Ada, whose media connects, is shown the media problem")
	}
}
