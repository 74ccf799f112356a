package config

import (
	"strings"
	"testing"
)

// TestWebRTCInterfaces: webrtc.interfaces and webrtc.ipv6 are read, IPv6
// is on unless turned off, and a name no interface can have is refused.
func TestWebRTCInterfaces(t *testing.T) {
	cfg, err := Parse(strings.NewReader("webrtc: {interfaces: [eth0, wg0], ipv6: false}"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if w := cfg.WebRTC; len(w.Interfaces) != 2 || w.Interfaces[1] != "wg0" || w.V6() {
		t.Errorf("parsed %+v", w)
	}
	if cfg, _ := Parse(strings.NewReader("listen: 127.0.0.1:8080")); !cfg.WebRTC.V6() || len(cfg.WebRTC.Interfaces) != 0 {
		t.Errorf("defaults: IPv6 %v, interfaces %v; want IPv6 on every interface", cfg.WebRTC.V6(), cfg.WebRTC.Interfaces)
	}
	for _, bad := range []string{"''", "'eth 0'", "a/b", "sixteen-chars-xx"} {
		cfg, err := Parse(strings.NewReader("webrtc: {interfaces: [" + bad + "]}"))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "webrtc.interfaces") {
			t.Errorf("interfaces [%s]: %v, want refused", bad, err)
		}
	}
}
