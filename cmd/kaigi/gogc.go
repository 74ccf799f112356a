package main

import (
	"runtime/debug"
	"strconv"

	"github.com/kaigi-meet/kaigi/internal/config"
)

// setGCTarget sets the garbage collector's target for `kaigi serve` to the
// gogc key (config.Config.GOGC, 50 by default) unless the GOGC environment
// variable is set, which the Go runtime has already applied and which
// wins. It returns the target in force and where it came from, for the
// start-up log line.
func setGCTarget(cfg config.Config, getenv func(string) string) (gogc, from string) {
	if env := getenv("GOGC"); env != "" {
		return env, "GOGC environment variable"
	}
	debug.SetGCPercent(cfg.GOGC)
	return strconv.Itoa(cfg.GOGC), "gogc key"
}
