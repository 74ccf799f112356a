package loadtest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestSimulcastStorm: with Config.Simulcast the storm's publisher sends
// the camera as three layers the server takes as such (it logs each rid),
// every joiner gets a key frame, and the key frame requests that reached
// the publisher are counted by layer: at most one per layer per 500 ms
// (the SFU's throttle) plus one.
func TestSimulcastStorm(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	const n = 6
	cfg := Defaults()
	cfg.Scenario, cfg.N, cfg.Simulcast = JoinStorm, n, true
	cfg.Bitrate = 300_000
	cfg.Warmup, cfg.Window, cfg.JoinTimeout = 300*time.Millisecond, 1500*time.Millisecond, 30*time.Second
	cfg.URL, cfg.Meeting = srv.URL, srv.NewMeeting(t)
	cfg.MetricsToken = servertest.MetricsToken
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res.WriteText(&out)
	t.Logf("\n%s", out.String())
	if !res.Simulcast || res.Joins.OK != n || res.Joins.Failed != 0 || res.Joins.ToKeyframeMs.N != n {
		t.Errorf("simulcast %v; joins %d ok, %d failed (%s), %d with a key frame; want %d",
			res.Simulcast, res.Joins.OK, res.Joins.Failed, res.Joins.FirstError, res.Joins.ToKeyframeMs.N, n)
	}
	layers := map[string]bool{}
	for _, line := range strings.Split(srv.Logs(), "\n") {
		if strings.Contains(line, `msg="simulcast layer"`) {
			for _, f := range strings.Fields(line) {
				if rid, ok := strings.CutPrefix(f, "rid="); ok {
					layers[rid] = true
				}
			}
		}
	}
	for _, rid := range []string{"q", "h", "f"} {
		if !layers[rid] {
			t.Errorf("the server logged no simulcast layer %q (logged %v)", rid, layers)
		}
	}
	by, total := res.Joins.PublisherKeyframeRequestsByLayer, 0
	if len(by) != 3 {
		t.Fatalf("key frame requests by layer %v, want 3 layers", by)
	}
	for i, k := range by {
		total += k
		if d := res.Joins.StormSeconds; k > int(d/0.5)+1 {
			t.Errorf("layer %d: %d key frame requests in a storm of %.2f s", i, k, d)
		}
	}
	if total != res.Joins.PublisherKeyframeRequests || total < 1 {
		t.Errorf("key frame requests by layer %v, total %d", by, res.Joins.PublisherKeyframeRequests)
	}
}
