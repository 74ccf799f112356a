package loadtest

import (
	"context"
	"fmt"
)

// A cross-node run (Config.SecondURL): the meeting is on the node at
// Config.URL, where the publisher joins; every second subscriber joins
// through another node of the same cluster, which gives it its
// PeerConnection there and relays the tracks from the meeting's node once
// (cascading). Both nodes' /metrics are read at the start and end of the
// window, with the same metrics token, so the figures are the pair's:
// forwarded packets (each node's kaigi_forwarded_packets_total, the relay's
// packets included where a node counts them) over both nodes' CPU-seconds.

// NodeResult is one node's part of a cross-node run, over the window.
type NodeResult struct {
	URL string `json:"url"`
	// Subscribers joined through this node (the publisher is on the first).
	Subscribers int `json:"subscribers"`
	// Participants is the node's kaigi_participants at the window's end.
	Participants        float64 `json:"participants"`
	CPUSeconds          float64 `json:"cpuSeconds"`
	Utilisation         float64 `json:"utilisation"`
	PacketsPerSecond    float64 `json:"packetsPerSecond"` // forwarded, as the node counts them
	PacketsPerCPUSecond float64 `json:"packetsPerCpuSecond"`
}

// nodeResult is a node's figures from its scrapes a and b.
func nodeResult(url string, subscribers int, a, b serverStats) NodeResult {
	n := NodeResult{URL: url, Subscribers: subscribers, Participants: b.participants, CPUSeconds: b.cpuSeconds - a.cpuSeconds}
	if dt := b.at.Sub(a.at).Seconds(); dt > 0 {
		n.Utilisation = n.CPUSeconds / dt
		n.PacketsPerSecond = (b.packets - a.packets) / dt
	}
	if n.CPUSeconds > 0 {
		n.PacketsPerCPUSecond = (b.packets - a.packets) / n.CPUSeconds
	}
	return n
}

// onSecond reports whether participant index joins through the second
// node: subscribers of odd index do, so a fan-out's (the publisher is
// index 0) are split in half.
func (c *Config) onSecond(index int, publish bool) bool {
	return c.SecondURL != "" && !publish && index%2 == 1
}

// entry is the origin participant index joins through.
func (r *run) entry(index int, publish bool) string {
	if r.cfg.onSecond(index, publish) {
		return r.cfg.SecondURL
	}
	return r.base
}

// scrapeSecond scrapes the second node's /metrics (none without one).
func (r *run) scrapeSecond(ctx context.Context) (serverStats, error) {
	if r.cfg.SecondURL == "" {
		return serverStats{}, nil
	}
	s, err := scrape(ctx, r.hc, r.cfg.SecondURL+"/metrics", r.metricsToken)
	if err != nil {
		return s, fmt.Errorf("second node: %w", err)
	}
	return s, nil
}

// addSecond puts both nodes' figures in res (a, b: the first node's
// scrapes; a2, b2: the second's) and makes the server's CPU and the
// forwarded packets the pair's totals.
func (r *run) addSecond(res *Result, a, b, a2, b2 serverStats) {
	if r.cfg.SecondURL == "" {
		return
	}
	var on [2]int
	for _, p := range r.everyone() {
		if p.err == nil && p.c != nil && !p.publisher {
			if r.cfg.onSecond(p.index, p.publisher) {
				on[1]++
			} else {
				on[0]++
			}
		}
	}
	res.Nodes = []NodeResult{nodeResult(r.base, on[0], a, b), nodeResult(r.cfg.SecondURL, on[1], a2, b2)}
	combine(res)
}

// combine makes res's server CPU and forwarded packets the sums over
// res.Nodes, each node over its own window (they differ by a scrape).
func combine(res *Result) {
	var cpu, pps, util float64
	for _, n := range res.Nodes {
		cpu += n.CPUSeconds
		util += n.Utilisation
		pps += n.PacketsPerSecond
	}
	res.Server.CPUSeconds = cpu
	res.Server.Utilisation = util
	res.Forwarded.PacketsPerSecond = pps
	res.Forwarded.PacketsPerCPUSecond = 0
	if util > 0 {
		res.Forwarded.PacketsPerCPUSecond = pps / util
	}
}
