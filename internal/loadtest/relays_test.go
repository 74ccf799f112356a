package loadtest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// progressHook calls f for every progress line the load test writes.
type progressHook func(line string)

func (h progressHook) Write(p []byte) (int, error) { h(string(p)); return len(p), nil }

// TestRelaysOnlyWhenAsked: by default the generator's participants
// allocate no TURN relay on the server (they reach it directly, as the web
// client does unless a direct path fails), and with Relays every one of
// them does; the result says which. The server's relays are counted while
// everyone is in, as the measurement starts.
func TestRelaysOnlyWhenAsked(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	if srv.TURN() == nil {
		t.Fatal("the test server has no TURN server")
	}
	for _, relays := range []bool{false, true} {
		cfg := Defaults()
		cfg.Scenario, cfg.N, cfg.Bitrate, cfg.Relays = FanOut, 2, 200_000, relays
		cfg.Warmup, cfg.Window, cfg.JoinTimeout = 300*time.Millisecond, 500*time.Millisecond, 30*time.Second
		cfg.URL, cfg.Meeting, cfg.MetricsToken = srv.URL, srv.NewMeeting(t), servertest.MetricsToken
		var mu sync.Mutex
		during := -1
		cfg.Progress = progressHook(func(line string) {
			if strings.Contains(line, "measuring") {
				mu.Lock()
				during = srv.TURN().Allocations()
				mu.Unlock()
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := Run(ctx, cfg)
		cancel()
		if err != nil {
			t.Fatalf("relays %v: %v", relays, err)
		}
		mu.Lock()
		n := during
		mu.Unlock()
		t.Logf("relays %v: %d TURN allocations while %d participants were in", relays, n, res.Participants)
		switch {
		case n < 0:
			t.Errorf("relays %v: the measurement never started", relays)
		case !relays && n != 0:
			t.Errorf("without relays: %d TURN allocations, want none", n)
		case relays && n < res.Participants:
			t.Errorf("with relays: %d TURN allocations for %d participants, want one each at least", n, res.Participants)
		}
		if res.Relays != relays {
			t.Errorf("result says relays %v, want %v", res.Relays, relays)
		}
		var out bytes.Buffer
		res.WriteText(&out)
		if want := map[bool]string{false: "direct, no TURN relays", true: "allocated TURN relays"}[relays]; !strings.Contains(out.String(), want) {
			t.Errorf("relays %v: the report does not say %q:\n%s", relays, want, out.String())
		}
	}
}
