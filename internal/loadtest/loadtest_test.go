package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestSmoke is the CI-sized benchmark: each scenario at a tiny size
// against an in-process server. It asserts correctness only (everyone
// joins and receives everything, nothing lost on loopback, the server's
// counters agree with the subscribers'), never a speed: the server and
// the generator share this process, so CPU figures mean nothing here.
func TestSmoke(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	for _, tc := range []struct {
		scenario string
		n        int
		tracks   int // received tracks
		subs     int // participants receiving
	}{
		{FanOut, 3, 3 * 2, 3},
		{Meeting, 3, 3 * 2 * 2, 3},
		{JoinStorm, 4, (4 + 1) * 2, 5}, // and the storm's first subscriber
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			cfg := Defaults()
			cfg.Scenario, cfg.N = tc.scenario, tc.n
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
			if res.Joins.Failed != 0 || res.Joins.OK != tc.n {
				t.Errorf("joins: %d ok, %d failed (%s), want %d ok", res.Joins.OK, res.Joins.Failed, res.Joins.FirstError, tc.n)
			}
			if res.Received.Tracks != tc.tracks {
				t.Errorf("%d tracks received, want %d", res.Received.Tracks, tc.tracks)
			}
			if len(res.Received.SubscriberLossPercent) != tc.subs {
				t.Errorf("loss reported for %d subscribers, want %d", len(res.Received.SubscriberLossPercent), tc.subs)
			}
			if res.Received.Expected == 0 || res.Received.Lost != 0 {
				t.Errorf("lost %d of %d packets on loopback", res.Received.Lost, res.Received.Expected)
			}
			// The server counts what it sends, the subscribers what
			// arrives: over the same window they agree within a margin
			// for packets in flight at its edges.
			if f, r := res.Forwarded.PacketsPerSecond, res.Received.PacketsPerSecond; r < 0.8*f || r > 1.2*f {
				t.Errorf("server forwarded %.0f pkt/s, subscribers received %.0f", f, r)
			}
			// The storm asks the publisher for at most one key frame
			// per 500 ms (the SFU's throttle), and for at least one.
			if k, d := res.Joins.PublisherKeyframeRequests, res.Joins.StormSeconds; tc.scenario == JoinStorm &&
				(k < 1 || k > int(d/0.5)+1) {
				t.Errorf("the storm (%.2f s) sent the publisher %d key frame requests", d, k)
			}
			if res.LatencyMs.N == 0 || res.Joins.ToKeyframeMs.N != tc.n || res.Joins.MediaToKeyframeMs.N != tc.n {
				t.Errorf("latency samples %d, key frame join times %d", res.LatencyMs.N, res.Joins.ToKeyframeMs.N)
			}
		})
	}
}

// TestSummarize: results from several runs become one row per scenario
// with the median and the range, fan-outs first by size.
func TestSummarize(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rs ...*Result) string {
		var b bytes.Buffer
		for _, r := range rs {
			json.NewEncoder(&b).Encode(r)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b.Bytes(), 0o600)
		return p
	}
	res := func(scenario string, n int, pps float64) *Result {
		r := &Result{Scenario: scenario, N: n, VideoBitrate: 1_500_000}
		r.Forwarded.PacketsPerCPUSecond = pps
		return r
	}
	// anon gives a result the anonymous RSS figures (pps × 0.001 MiB per
	// participant); results without them are a server that lacks the
	// metric; relayed marks a run whose participants allocated relays.
	anon := func(r *Result) *Result {
		r.Server.AnonMiB, r.Server.AnonPerParticipantMiB = 100, r.Forwarded.PacketsPerCPUSecond/1000
		return r
	}
	relayed := func(r *Result) *Result { r.Relays = true; return r }
	var out bytes.Buffer
	err := Summarize(&out, []string{
		write("a.json", res(Meeting, 10, 5), anon(res(FanOut, 200, 100))),
		write("b.json", anon(res(FanOut, 200, 300)), res(FanOut, 10, 7), relayed(res(FanOut, 10, 9))),
		write("c.json", anon(res(FanOut, 200, 200))),
		old(t, dir, res(FanOut, 10, 11)),
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("want a header, a rule and four rows:\n%s", out.String())
	}
	for i, want := range []string{"| fan-out 1→10 | 1 |", "| fan-out 1→10, relays | 2 |", "| fan-out 1→200 | 3 |", "| meeting 10×10 | 1 |"} {
		if !strings.HasPrefix(lines[2+i], want) {
			t.Errorf("row %d = %q, want it to start %q", i, lines[2+i], want)
		}
	}
	if !strings.Contains(lines[4], "| 200 [100–300] |") {
		t.Errorf("fan-out 1→200 row lacks the median and range of 100, 200, 300: %q", lines[4])
	}
	if !strings.HasSuffix(lines[4], "| 0.20 [0.10–0.30] |") {
		t.Errorf("fan-out 1→200 row lacks the anonymous RSS per participant last: %q", lines[4])
	}
	if !strings.HasSuffix(lines[5], "| — |") {
		t.Errorf("meeting row (no anonymous RSS) does not say so: %q", lines[5])
	}
	if err := Summarize(&out, []string{write("empty.json")}); err == nil {
		t.Error("no results summarised without an error")
	}
}

// TestConfigRefusesNonsense: every bad setting is named before anything
// starts.
func TestConfigRefusesNonsense(t *testing.T) {
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Scenario = "stampede" }, "scenario"},
		{func(c *Config) { c.N = 0 }, "n:"},
		{func(c *Config) { c.Scenario, c.N = Meeting, 1 }, "at least 2"},
		{func(c *Config) { c.Bitrate = 5 }, "bitrate"},
		{func(c *Config) { c.FPS = 0 }, "fps"},
		{func(c *Config) { c.KeyframeInterval = time.Millisecond }, "keyframe"},
		{func(c *Config) { c.Window = 0 }, "window"},
		{func(c *Config) { c.URL = "http://127.0.0.1:1" }, "meeting"},
		{func(c *Config) { c.Meeting = "abc" }, "server URL"},
	} {
		cfg := Defaults()
		tc.change(&cfg)
		_, err := Run(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run = %v, want an error about %q", err, tc.want)
		}
	}
}

// TestSoakVerdict: a server above its baseline by more than a margin, or
// with someone still counted, is named as leaking; within the margins it
// is not. Growth over the samples is fitted per minute.
func TestSoakVerdict(t *testing.T) {
	before := Snapshot{Goroutines: 10, OpenFDs: 14, Sockets: 2, DatabaseFiles: -1, HeapMiB: 4}
	m := Margins{Goroutines: 5, OpenFDs: 3, Sockets: 0, HeapMiB: 4}
	for _, tc := range []struct {
		after Snapshot
		want  string
	}{
		{Snapshot{Goroutines: 15, OpenFDs: 17, Sockets: 2, HeapMiB: 8}, ""},
		{Snapshot{Goroutines: 9, OpenFDs: 12, Sockets: 1, HeapMiB: 3}, ""},
		{Snapshot{Goroutines: 10, OpenFDs: 15, Sockets: 3, HeapMiB: 4}, "sockets +1"},
		{Snapshot{Goroutines: 16, OpenFDs: 14, HeapMiB: 4}, "goroutines +6"},
		{Snapshot{Goroutines: 10, OpenFDs: 18, DatabaseFiles: -1, HeapMiB: 4}, "open files +4"},
		{Snapshot{Goroutines: 10, OpenFDs: 14, HeapMiB: 8.5}, "heap +4.5 MiB"},
		{Snapshot{Goroutines: 10, OpenFDs: 14, HeapMiB: 4, Participants: 1}, "1 participants"},
	} {
		got := strings.Join(excess(before, tc.after, m), "; ")
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("after %+v: excess %q, want %q", tc.after, got, tc.want)
		}
	}
	// With the database's files said apart, they do not count: SQLite
	// keeps descriptors after a burst of connections. Other files do.
	dbBefore := Snapshot{Goroutines: 10, OpenFDs: 14, Sockets: 2, DatabaseFiles: 3, HeapMiB: 4}
	for _, tc := range []struct {
		after Snapshot
		want  string
	}{
		{Snapshot{Goroutines: 10, OpenFDs: 20, Sockets: 2, DatabaseFiles: 9, HeapMiB: 4}, ""},
		{Snapshot{Goroutines: 10, OpenFDs: 24, Sockets: 2, DatabaseFiles: 9, HeapMiB: 4}, "open files +4 (not counting the database's)"},
		{Snapshot{Goroutines: 10, OpenFDs: 18, Sockets: 2, DatabaseFiles: -1, HeapMiB: 4}, "open files +4"},
	} {
		got := strings.Join(excess(dbBefore, tc.after, m), "; ")
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("after %+v: excess %q, want %q", tc.after, got, tc.want)
		}
	}
	var samples []Sample
	for i := 0; i <= 10; i++ { // a goroutine every 30 s, the heap flat
		samples = append(samples, Sample{Seconds: float64(i) * 30, Snapshot: Snapshot{Goroutines: 100 + i, HeapMiB: 8}})
	}
	d := drift(samples)
	if d.Goroutines < 1.99 || d.Goroutines > 2.01 || d.HeapMiB != 0 {
		t.Errorf("drift %+v, want 2 goroutines and no heap a minute", d)
	}
}

// TestLightReceiverCounts: with the light receiver, the subscribers'
// media is counted on the shared sockets (pion's chain sees only each
// track's first packets), every packet decrypts, and what is counted
// agrees with what the server forwarded: nothing lost on loopback, every
// subscriber sees a key frame, latencies are measured.
func TestLightReceiverCounts(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	cfg := Defaults()
	cfg.Scenario, cfg.N, cfg.Receiver = FanOut, 3, LightReceiver
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
	if res.Receiver != LightReceiver || res.Joins.OK != 3 || res.Received.Tracks != 6 {
		t.Fatalf("receiver %q, %d joined, %d tracks; want light, 3, 6", res.Receiver, res.Joins.OK, res.Received.Tracks)
	}
	if res.Received.Undecryptable != 0 {
		t.Errorf("%d packets failed SRTP authentication", res.Received.Undecryptable)
	}
	// The window's packets, at the least, came through the light path.
	if window := int64(res.Received.PacketsPerSecond * res.WindowSeconds); int64(res.Received.LightPackets) < window {
		t.Errorf("%d packets counted on the light sockets, fewer than the window's %d", res.Received.LightPackets, window)
	}
	if res.Received.Expected == 0 || res.Received.Lost != 0 {
		t.Errorf("lost %d of %d packets on loopback", res.Received.Lost, res.Received.Expected)
	}
	if f, r := res.Forwarded.PacketsPerSecond, res.Received.PacketsPerSecond; r < 0.8*f || r > 1.2*f {
		t.Errorf("server forwarded %.0f pkt/s, subscribers received %.0f", f, r)
	}
	if res.LatencyMs.N == 0 || res.Joins.ToKeyframeMs.N != 3 {
		t.Errorf("latency samples %d, key frame join times %d", res.LatencyMs.N, res.Joins.ToKeyframeMs.N)
	}
}

// old writes r as a result saved before results said whether their
// participants allocated relays (no "relays" key: they all did).
func old(t *testing.T, dir string, r *Result) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["relays"]; !ok {
		t.Fatal("a result has no relays key to take out")
	}
	delete(m, "relays")
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "old.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
