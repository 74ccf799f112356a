package loadtest

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

// TestSecondNodeTakesHalfTheSubscribers: with a second node, the
// publisher and every second subscriber join through the first node, the
// others through the second; without one, everyone joins the first.
func TestSecondNodeTakesHalfTheSubscribers(t *testing.T) {
	cfg := Defaults()
	cfg.URL, cfg.SecondURL = "http://n1", "http://n2"
	r := &run{cfg: cfg, base: cfg.URL}
	if got := r.entry(0, true); got != "http://n1" {
		t.Errorf("the publisher joins through %s, want the meeting's node", got)
	}
	on := map[string]int{}
	for i := 1; i <= 200; i++ { // a fan-out's subscribers
		on[r.entry(i, false)]++
	}
	if on["http://n1"] != 100 || on["http://n2"] != 100 {
		t.Errorf("subscribers per node %v, want 100 on each", on)
	}
	one := &run{cfg: Defaults(), base: "http://n1"}
	for i := range 4 {
		if got := one.entry(i, false); got != "http://n1" {
			t.Errorf("without a second node, participant %d joins through %s", i, got)
		}
	}
}

// TestSecondNodeRefusedWhereItMeansNothing: a second node needs a server
// URL (the load test's own server is a cluster of one) and a scenario
// with one publisher.
func TestSecondNodeRefusedWhereItMeansNothing(t *testing.T) {
	for _, change := range []func(*Config){
		func(c *Config) { c.SecondURL = "http://n2" },
		func(c *Config) {
			c.URL, c.Meeting, c.SecondURL, c.Scenario, c.N = "http://n1", "m", "http://n2", Meeting, 4
		},
	} {
		cfg := Defaults()
		change(&cfg)
		if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "second node") {
			t.Errorf("Run = %v, want an error about the second node", err)
		}
	}
}

// TestPairFigures: a cross-node run reports each node's figures from its
// own scrapes, and the server's CPU and forwarded packets as their sums.
func TestPairFigures(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := serverStats{at: t0, cpuSeconds: 5, packets: 10_000}
	b := serverStats{at: t0.Add(10 * time.Second), cpuSeconds: 7, packets: 70_000, participants: 101}
	a2 := serverStats{at: t0.Add(time.Second), cpuSeconds: 1, packets: 0}
	b2 := serverStats{at: t0.Add(11 * time.Second), cpuSeconds: 2, packets: 30_000, participants: 100}
	res := &Result{}
	res.Nodes = []NodeResult{nodeResult("n1", 100, a, b), nodeResult("n2", 100, a2, b2)}
	combine(res)
	n1, n2 := res.Nodes[0], res.Nodes[1]
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("n1 CPU-s", n1.CPUSeconds, b.cpuSeconds-a.cpuSeconds)
	near("n1 pkt/s", n1.PacketsPerSecond, (b.packets-a.packets)/10)
	near("n1 pkt per CPU-s", n1.PacketsPerCPUSecond, (b.packets-a.packets)/(b.cpuSeconds-a.cpuSeconds))
	near("n2 pkt per CPU-s", n2.PacketsPerCPUSecond, (b2.packets-a2.packets)/(b2.cpuSeconds-a2.cpuSeconds))
	near("n2 participants", n2.Participants, b2.participants)
	near("pair CPU-s", res.Server.CPUSeconds, n1.CPUSeconds+n2.CPUSeconds)
	near("pair pkt/s", res.Forwarded.PacketsPerSecond, n1.PacketsPerSecond+n2.PacketsPerSecond)
	// Both windows are 10 s long, so the pair's packets per CPU-second are
	// all packets over all CPU-seconds.
	near("pair pkt per CPU-s", res.Forwarded.PacketsPerCPUSecond,
		(b.packets-a.packets+b2.packets-a2.packets)/(b.cpuSeconds-a.cpuSeconds+b2.cpuSeconds-a2.cpuSeconds))
}
