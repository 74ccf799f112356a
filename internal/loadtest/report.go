package loadtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// Result is what one run measured. Its JSON form is what `kaigi loadtest
// --json` prints and `kaigi loadtest summarize` reads.
type Result struct {
	Scenario         string  `json:"scenario"`
	N                int     `json:"n"`
	Participants     int     `json:"participants"` // joined, publishers included
	VideoBitrate     int     `json:"videoBitrate"` // bit/s per published video
	FPS              int     `json:"fps"`
	KeyframeInterval float64 `json:"keyframeIntervalSeconds"`
	WindowSeconds    float64 `json:"windowSeconds"`
	// Receiver is how subscribers received: "browser" (pion's full chain)
	// or "light" (Config.Receiver).
	Receiver string `json:"receiver,omitempty"`
	// Simulcast: the publishers sent the camera as three layers
	// (Config.Simulcast).
	Simulcast bool `json:"simulcast,omitempty"`
	// Relays: every participant allocated TURN relays at once
	// (Config.Relays); false: none did, they reached the server directly.
	// Results from before the field existed (no "relays" key) had every
	// participant allocate them.
	Relays bool `json:"relays"`

	Server struct {
		CPUs        string  `json:"cpus,omitempty"` // the CPUs a child server was allowed
		CPUSeconds  float64 `json:"cpuSeconds"`     // in the window
		Utilisation float64 `json:"utilisation"`    // CPU-seconds per second
		// RSSMiB and RSSBaselineMiB are read after a garbage collection
		// (what the server holds in use), with everyone in and before
		// anyone joined; RSSBeforeGCMiB is RSSMiB before that collection.
		RSSMiB               float64 `json:"rssMiB"`
		RSSBeforeGCMiB       float64 `json:"rssBeforeGcMiB"`
		RSSBaselineMiB       float64 `json:"rssBaselineMiB"`
		RSSPerParticipantMiB float64 `json:"rssPerParticipantMiB"`
		// AnonMiB, AnonBaselineMiB and AnonPerParticipantMiB are the same
		// for the resident anonymous memory alone (heap, stacks, runtime;
		// kaigi_resident_anonymous_memory_bytes), without the executable's
		// file-backed pages, which the first participants' media path
		// makes resident once for all; absent if the server lacks the
		// metric.
		AnonMiB               float64 `json:"anonMiB,omitempty"`
		AnonBaselineMiB       float64 `json:"anonBaselineMiB,omitempty"`
		AnonPerParticipantMiB float64 `json:"anonPerParticipantMiB,omitempty"`
		// Goroutines and goroutine stacks (go_memstats_stack_inuse_bytes),
		// read with RSSMiB and RSSBaselineMiB.
		Goroutines               int     `json:"goroutines"`
		GoroutinesBaseline       int     `json:"goroutinesBaseline"`
		GoroutinesPerParticipant float64 `json:"goroutinesPerParticipant"`
		StackInuseMiB            float64 `json:"stackInuseMiB"`
		StackBaselineMiB         float64 `json:"stackBaselineMiB"`
		StackPerParticipantMiB   float64 `json:"stackPerParticipantMiB"`
	} `json:"server"`
	GeneratorCPUs string `json:"generatorCpus,omitempty"`
	// GeneratorUtilisation is the load generator's CPU-seconds per second
	// in the window: near 1 on one CPU means the generator, not the
	// server, may be what limits the figures.
	GeneratorUtilisation float64 `json:"generatorUtilisation"`

	Forwarded struct {
		PacketsPerSecond    float64 `json:"packetsPerSecond"`
		Mbps                float64 `json:"mbps"`
		PacketsPerCPUSecond float64 `json:"packetsPerCpuSecond"`
	} `json:"forwarded"` // as the server counts them
	// Nodes are each node's figures in a cross-node run (Config.SecondURL);
	// Server's CPU and Forwarded are then their sums (RSS: the first's).
	Nodes []NodeResult `json:"nodes,omitempty"`

	Received struct {
		Tracks                int     `json:"tracks"`
		PacketsPerSecond      float64 `json:"packetsPerSecond"`
		Expected              int64   `json:"expected"`
		Lost                  int64   `json:"lost"`
		AudioLost             int64   `json:"audioLost"` // audio is not retransmitted
		VideoLost             int64   `json:"videoLost"` // what NACKs did not repair in time
		LossPercent           float64 `json:"lossPercent"`
		WorstTrackLossPercent float64 `json:"worstTrackLossPercent"`
		// SubscriberLossPercent is each receiving participant's loss over
		// all its tracks, in the order they joined.
		SubscriberLossPercent []float64 `json:"subscriberLossPercent"`
		// With the light receiver: media packets counted on its sockets
		// (from the start, not only the window) and packets that failed
		// SRTP authentication there (dropped, so counted as lost).
		LightPackets  uint64 `json:"lightPackets,omitempty"`
		Undecryptable uint64 `json:"undecryptable,omitempty"`
	} `json:"received"` // as the subscribers count them, by sequence number

	LatencyMs Dist `json:"latencyMs"` // one-way, send to receive, first packet of each frame

	Joins struct {
		OK           int    `json:"ok"`
		Failed       int    `json:"failed"`
		FirstError   string `json:"firstError,omitempty"`
		ToMediaMs    Dist   `json:"toMediaMs"`    // dialling the socket → first media packet
		ToKeyframeMs Dist   `json:"toKeyframeMs"` // dialling the socket → first key frame
		// MediaToKeyframeMs is, per participant, its first media packet
		// (the transport is up: audio flows at once) → its first key
		// frame: the wait that key frame requests and their throttle
		// make.
		MediaToKeyframeMs Dist `json:"mediaToKeyframeMs"`
		// The join storm: the key frame requests that reached the
		// publisher's camera from the first join until every joiner had
		// a key frame, and how long that took.
		PublisherKeyframeRequests int     `json:"publisherKeyframeRequests,omitempty"`
		StormSeconds              float64 `json:"stormSeconds,omitempty"`
		// PublisherKeyframeRequestsByLayer splits them by simulcast
		// layer, lowest first (Config.Simulcast only).
		PublisherKeyframeRequestsByLayer []int `json:"publisherKeyframeRequestsByLayer,omitempty"`
	} `json:"joins"`

	// Soak is the soak scenario's own result (the window, forwarding and
	// received figures above are left empty).
	Soak *SoakResult `json:"soak,omitempty"`

	Machine Machine `json:"machine"`
}

// Dist summarises durations in milliseconds.
type Dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func summarise(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return Dist{N: len(s), P50: ms(rank(s, 0.50)), P99: ms(rank(s, 0.99)), Max: ms(s[len(s)-1])}
}

// rank is the nearest-rank percentile of sorted values.
func rank[T any](sorted []T, q float64) T {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Machine describes where a run happened.
type Machine struct {
	CPU    string `json:"cpu"`
	CPUs   int    `json:"cpus"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return m
}

// Name is the scenario with its size, e.g. "fanout 1→200".
func (r *Result) Name() string {
	switch r.Scenario {
	case FanOut:
		return fmt.Sprintf("fan-out 1→%d", r.N)
	case Meeting:
		return fmt.Sprintf("meeting %d×%d", r.N, r.N)
	case JoinStorm:
		return fmt.Sprintf("join storm %d", r.N)
	case Soak:
		return fmt.Sprintf("soak %d", r.N)
	}
	return fmt.Sprintf("%s %d", r.Scenario, r.N)
}

// WriteText prints a result for people.
func (r *Result) WriteText(w io.Writer) error {
	if r.Soak != nil {
		return r.Soak.write(w, r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	p("scenario", "%s (%d joined; video %.2f Mbit/s at %d fps, key frame every %gs; audio 50 pkt/s)",
		r.Name(), r.Participants, float64(r.VideoBitrate)/1e6, r.FPS, r.KeyframeInterval)
	if r.Relays {
		p("ICE", "every participant allocated TURN relays at join (--relays)")
	} else {
		p("ICE", "direct, no TURN relays allocated")
	}
	p("window", "%.1f s", r.WindowSeconds)
	p("forwarded", "%.0f pkt/s, %.1f Mbit/s", r.Forwarded.PacketsPerSecond, r.Forwarded.Mbps)
	p("server CPU", "%.3f CPU-s/s (CPUs %s)", r.Server.Utilisation, orAll(r.Server.CPUs))
	p("pkt per server CPU-s", "%.0f", r.Forwarded.PacketsPerCPUSecond)
	for i, n := range r.Nodes {
		p(fmt.Sprintf("node %d", i+1), "%s: %d subscribers, %.3f CPU-s/s, %.0f pkt/s, %.0f pkt per CPU-s", n.URL, n.Subscribers,
			n.Utilisation, n.PacketsPerSecond, n.PacketsPerCPUSecond)
	}
	p("generator CPU", "%.3f CPU-s/s (CPUs %s), %s receiver", r.GeneratorUtilisation, orAll(r.GeneratorCPUs), orDefault(r.Receiver, BrowserReceiver))
	if r.Receiver == LightReceiver {
		p("light receiver", "%d media packets counted on its sockets, %d failed SRTP authentication", r.Received.LightPackets, r.Received.Undecryptable)
	}
	p("received", "%.0f pkt/s on %d tracks", r.Received.PacketsPerSecond, r.Received.Tracks)
	p("loss", "%.3f %% (%d of %d: %d audio, %d video), worst track %.3f %%", r.Received.LossPercent, r.Received.Lost,
		r.Received.Expected, r.Received.AudioLost, r.Received.VideoLost, r.Received.WorstTrackLossPercent)
	p("latency", "p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d frames)", r.LatencyMs.P50, r.LatencyMs.P99, r.LatencyMs.Max, r.LatencyMs.N)
	p("joins", "%d ok, %d failed", r.Joins.OK, r.Joins.Failed)
	if r.Joins.FirstError != "" {
		p("first join error", "%s", r.Joins.FirstError)
	}
	p("join → media", "p50 %.0f ms, p99 %.0f ms", r.Joins.ToMediaMs.P50, r.Joins.ToMediaMs.P99)
	p("join → key frame", "p50 %.0f ms, p99 %.0f ms", r.Joins.ToKeyframeMs.P50, r.Joins.ToKeyframeMs.P99)
	p("media → key frame", "p50 %.0f ms, p99 %.0f ms, max %.0f ms (first packet to first key frame)",
		r.Joins.MediaToKeyframeMs.P50, r.Joins.MediaToKeyframeMs.P99, r.Joins.MediaToKeyframeMs.Max)
	if r.Scenario == JoinStorm {
		p("storm", "%d key frame requests reached the publisher in %.2f s (first join to the last joiner's key frame)",
			r.Joins.PublisherKeyframeRequests, r.Joins.StormSeconds)
		if r.Simulcast {
			p("storm by layer", "%v key frame requests (q, h, f)", r.Joins.PublisherKeyframeRequestsByLayer)
		}
	}
	p("server RSS", "%.1f MiB in use (%.1f MiB before a collection; %.1f MiB before joins; %.3f MiB per participant)", r.Server.RSSMiB,
		r.Server.RSSBeforeGCMiB, r.Server.RSSBaselineMiB, r.Server.RSSPerParticipantMiB)
	if r.Server.AnonMiB > 0 {
		p("server anonymous RSS", "%.1f MiB in use (%.1f MiB before joins; %.3f MiB per participant)", r.Server.AnonMiB,
			r.Server.AnonBaselineMiB, r.Server.AnonPerParticipantMiB)
	}
	p("server goroutines", "%d (%d before joins; %.1f per participant), stacks %.1f MiB (%.1f before; %.3f MiB per participant)",
		r.Server.Goroutines, r.Server.GoroutinesBaseline, r.Server.GoroutinesPerParticipant, r.Server.StackInuseMiB,
		r.Server.StackBaselineMiB, r.Server.StackPerParticipantMiB)
	p("machine", "%s, %d CPUs, Linux %s, %s", r.Machine.CPU, r.Machine.CPUs, r.Machine.Kernel, r.Machine.Go)
	return tw.Flush()
}

func orAll(cpus string) string {
	if cpus == "" {
		return "not pinned"
	}
	return cpus
}

// decodeResult reads the next result. One saved before the result said
// whether its participants allocated TURN relays (no "relays" key) comes
// from a generator whose participants all did: it is marked so, and never
// mixed with runs without relays.
func decodeResult(dec *json.Decoder) (*Result, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	r := new(Result)
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, err
	}
	var has struct {
		Relays *bool `json:"relays"`
	}
	if err := json.Unmarshal(raw, &has); err == nil && has.Relays == nil {
		r.Relays = true
	}
	return r, nil
}

// Summarize reads results (JSON, one or more per file) and writes a
// Markdown table: per scenario and size, the median of the runs with the
// lowest and highest in brackets.
func Summarize(w io.Writer, files []string) error {
	groups := map[string][]*Result{}
	var order []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		for dec.More() {
			r, err := decodeResult(dec)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			k := r.Name()
			if r.Relays {
				k += ", relays" // not to be mixed with runs without
			}
			if groups[k] == nil {
				order = append(order, k)
			}
			groups[k] = append(groups[k], r)
		}
	}
	if len(order) == 0 {
		return fmt.Errorf("no results in %s", strings.Join(files, ", "))
	}
	sort.SliceStable(order, func(i, j int) bool { return lessScenario(groups[order[i]][0], groups[order[j]][0]) })
	fmt.Fprintln(w, "| scenario | runs | video | forwarded pkt/s | pkt per server CPU-s | server CPU | generator CPU | loss % (worst track) | latency p50 / p99 ms | join → media p50 / p99 ms | join → key frame p50 / p99 ms | joins failed | RSS MiB per participant | anon RSS MiB per participant |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, k := range order {
		rs := groups[k]
		m := func(f func(*Result) float64, format string) string { return spread(rs, f, format) }
		failed := 0
		for _, r := range rs {
			failed += r.Joins.Failed
		}
		fmt.Fprintf(w, "| %s | %d | %.1f Mbit/s | %s | %s | %s | %s | %s (%s) | %s / %s | %s / %s | %s / %s | %d | %s | %s |\n",
			k, len(rs), float64(rs[0].VideoBitrate)/1e6,
			m(func(r *Result) float64 { return r.Forwarded.PacketsPerSecond }, "%.0f"),
			m(func(r *Result) float64 { return r.Forwarded.PacketsPerCPUSecond }, "%.0f"),
			m(func(r *Result) float64 { return r.Server.Utilisation }, "%.2f"),
			m(func(r *Result) float64 { return r.GeneratorUtilisation }, "%.2f"),
			m(func(r *Result) float64 { return r.Received.LossPercent }, "%.3f"),
			m(func(r *Result) float64 { return r.Received.WorstTrackLossPercent }, "%.2f"),
			m(func(r *Result) float64 { return r.LatencyMs.P50 }, "%.2f"),
			m(func(r *Result) float64 { return r.LatencyMs.P99 }, "%.2f"),
			m(func(r *Result) float64 { return r.Joins.ToMediaMs.P50 }, "%.0f"),
			m(func(r *Result) float64 { return r.Joins.ToMediaMs.P99 }, "%.0f"),
			m(func(r *Result) float64 { return r.Joins.ToKeyframeMs.P50 }, "%.0f"),
			m(func(r *Result) float64 { return r.Joins.ToKeyframeMs.P99 }, "%.0f"),
			failed,
			m(func(r *Result) float64 { return r.Server.RSSPerParticipantMiB }, "%.2f"),
			anonSpread(rs))
	}
	return nil
}

// anonSpread is spread of the anonymous RSS per participant, over the runs
// that have it ("—" if none: the server lacked the metric).
func anonSpread(rs []*Result) string {
	var with []*Result
	for _, r := range rs {
		if r.Server.AnonMiB > 0 {
			with = append(with, r)
		}
	}
	if len(with) == 0 {
		return "—"
	}
	return spread(with, func(r *Result) float64 { return r.Server.AnonPerParticipantMiB }, "%.2f")
}

// spread is the median of f over the runs, with the range when there are
// several: "85900 [81200–88000]".
func spread(rs []*Result, f func(*Result) float64, format string) string {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	s := fmt.Sprintf(format, med)
	if len(v) > 1 {
		s += " [" + fmt.Sprintf(format, v[0]) + "–" + fmt.Sprintf(format, v[len(v)-1]) + "]"
	}
	return s
}

func lessScenario(a, b *Result) bool {
	order := map[string]int{FanOut: 0, Meeting: 1, JoinStorm: 2}
	if order[a.Scenario] != order[b.Scenario] {
		return order[a.Scenario] < order[b.Scenario]
	}
	return a.N < b.N
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
