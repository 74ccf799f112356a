package config

import (
	"strings"
	"testing"
)

// TestReviewIncludeLoopbackReadsBooleansAsBoolKeysDo: include_loopback
// was a boolean key until c9b7f8d, and every other boolean key (ice_tcp
// here) takes what the YAML library takes for a boolean, YAML 1.1's
// yes/no/on/off/y/n included. A configuration that said
// include_loopback: yes (or on, off, no) worked before; refusing it now
// would stop the server at its upgrade. Each word reads as ice_tcp reads
// it; "auto" stays the only other value.
func TestReviewIncludeLoopbackReadsBooleansAsBoolKeysDo(t *testing.T) {
	for _, w := range []string{"true", "True", "TRUE", "false", "False", "FALSE",
		"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N"} {
		doc := "webrtc: {include_loopback: " + w + ", ice_tcp: " + w + "}"
		cfg, err := Parse(strings.NewReader(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if cfg.WebRTC.ICETCP == nil {
			t.Fatalf("%q: ice_tcp not read as a boolean", doc)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%q: %v", doc, err)
			continue
		}
		if w := cfg.WebRTC; w.LoopbackAuto() || w.Loopback() != *w.ICETCP {
			t.Errorf("%q: include_loopback auto %v, on %v; ice_tcp %v", doc, w.LoopbackAuto(), w.Loopback(), *w.ICETCP)
		}
	}
}
