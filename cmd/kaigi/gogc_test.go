package main

import (
	"runtime/debug"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/config"
)

// TestSetGCTarget: the gogc key sets the collector's target unless the
// GOGC environment variable is set, which is left in force.
func TestSetGCTarget(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	cfg := config.Default()
	if got, from := setGCTarget(cfg, func(string) string { return "" }); got != "50" || from != "gogc key" {
		t.Errorf("no GOGC: %s from %s, want 50 from the key", got, from)
	}
	if p := debug.SetGCPercent(100); p != 50 {
		t.Errorf("target %d after setGCTarget, want 50", p)
	}
	env := map[string]string{"GOGC": "200"}
	if got, from := setGCTarget(cfg, func(k string) string { return env[k] }); got != "200" || from != "GOGC environment variable" {
		t.Errorf("GOGC=200: %s from %s", got, from)
	}
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("target %d after setGCTarget with GOGC set, want it untouched (100)", p)
	}
}
