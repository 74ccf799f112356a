package loadtest

// The soak: a meeting held for a long time while people come and go, then
// everyone leaves and the server must return to what it was before anyone
// joined: goroutines, open files and the heap, each within a margin.

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// Margins are how far above its baseline the server may stay after
// everyone left and still count as back at it.
type Margins struct {
	Goroutines int     `json:"goroutines"`
	OpenFDs    int     `json:"openFds"`
	Sockets    int     `json:"sockets"`
	HeapMiB    float64 `json:"heapMiB"`
}

// DefaultMargins allow for what a server keeps on purpose after a meeting:
// rate-limit entries for the addresses that joined, maps that do not
// shrink, a pooled buffer or two, and up to two more idle connections in
// the database's pool (two files each: the database and its write-ahead
// log), and a socket (the scraper's connection may be a new one). A leak
// of one participant's goroutines (a PeerConnection alone runs dozens), or
// of a socket each time someone comes or goes, exceeds them.
var DefaultMargins = Margins{Goroutines: 5, OpenFDs: 4, Sockets: 1, HeapMiB: 4}

// SoakDefaults are what `kaigi loadtest --scenario soak` runs unless told
// otherwise: a 50-person meeting for 10 minutes. Five people have camera
// (a 500 kbit/s gallery layer, as in the meeting benchmark) and microphone
// on; the other 45 listen with their microphone muted and camera off,
// which in Kaigi's web client sends nothing. Every 10 s someone comes or
// goes (see Config.Churn).
func SoakDefaults() Config {
	c := Defaults()
	c.Scenario, c.N, c.Bitrate, c.Window = Soak, 50, 500_000, 10*time.Minute
	return c
}

// SoakResult is what a soak measured.
type SoakResult struct {
	Publishers int     `json:"publishers"`
	Seconds    float64 `json:"seconds"` // from everyone receiving to everyone leaving

	// Before is the server before anyone joined, once settled (after the
	// load test's sign-up, whose password hash is collected first); Peak
	// the highest of each figure over the samples; After the server once
	// back within Margins of Before, or when SettleSeconds ran out. All
	// are read after a garbage collection (/metrics?gc=1), so heap and RSS
	// are what is in use, not what waits to be collected.
	Before Snapshot `json:"before"`
	Peak   Snapshot `json:"peak"`
	After  Snapshot `json:"after"`
	// PeakRSSMiB is the highest RSS of the samples before their
	// collection: what the system saw.
	PeakRSSMiB float64 `json:"peakRssMiB"`
	Margins    Margins `json:"margins"`
	// Leaked is set when After is beyond Margins of Before (or someone is
	// still counted in the meeting); Excess says which figures.
	Leaked bool     `json:"leaked"`
	Excess []string `json:"excess,omitempty"`
	// SettleSeconds is how long after everyone's goodbye the server took
	// to return to Before (or the bound, when it did not).
	SettleSeconds float64 `json:"settleSeconds"`

	// Samples are taken every Config.Sample during the meeting. Drift is
	// each figure's least-squares slope over them, per minute; Drifting
	// says which would grow by more than its margin over the whole soak.
	Samples  []Sample `json:"samples"`
	Drift    Drift    `json:"drift"`
	Drifting []string `json:"drifting,omitempty"`

	// Over the whole soak, as the server counts its forwarding and the
	// participants count what they receive (every track, including those
	// of people who left).
	ForwardedPackets      float64 `json:"forwardedPackets"`
	ForwardedPerSecond    float64 `json:"forwardedPerSecond"`
	ServerUtilisation     float64 `json:"serverUtilisation"`
	GeneratorUtilisation  float64 `json:"generatorUtilisation"`
	Expected              int64   `json:"expected"`
	Lost                  int64   `json:"lost"`
	LossPercent           float64 `json:"lossPercent"`
	WorstTrackLossPercent float64 `json:"worstTrackLossPercent"`

	Churn Churn `json:"churn"`
	// NotReceiving is how many of those in the meeting at its end did not
	// receive every track they should (checked before they leave).
	NotReceiving int `json:"notReceiving"`
}

// Snapshot is the server at one moment.
type Snapshot struct {
	Goroutines int `json:"goroutines"`
	Threads    int `json:"threads"`
	OpenFDs    int `json:"openFds"`
	Sockets    int `json:"sockets"` // of OpenFDs; -1 if the server does not say
	// DatabaseFiles, of OpenFDs, are on the SQLite database's files; -1
	// if the server does not say. SQLite keeps a closed connection's
	// descriptor while another connection holds a lock, so they follow
	// the peak of concurrent connections: the leak check counts open
	// files without them.
	DatabaseFiles int     `json:"databaseFiles"`
	HeapMiB       float64 `json:"heapLiveMiB"`  // go_memstats_heap_alloc_bytes: after a collection, what is live
	HeapInuseMiB  float64 `json:"heapInuseMiB"` // go_memstats_heap_inuse_bytes: spans in use, live or not
	RSSMiB        float64 `json:"rssMiB"`
	Participants  int     `json:"participants"`
	Connections   int     `json:"connections"`
}

// Sample is a Snapshot during the soak, with its time from the start and
// the RSS before the collection.
type Sample struct {
	Seconds float64 `json:"seconds"`
	Snapshot
	RSSBeforeGCMiB float64 `json:"rssBeforeGcMiB"`
}

// Drift is growth per minute over the samples.
type Drift struct {
	Goroutines float64 `json:"goroutinesPerMinute"`
	OpenFDs    float64 `json:"openFdsPerMinute"`
	HeapMiB    float64 `json:"heapMiBPerMinute"`
}

// Churn counts the comings and goings during the soak.
type Churn struct {
	Left            int    `json:"left"`           // listeners who said goodbye
	PublishersLeft  int    `json:"publishersLeft"` // publishers who said goodbye
	Vanished        int    `json:"vanished"`       // listeners whose network dropped for good
	Abandoned       int    `json:"abandoned"`      // joined and closed at once, mid-negotiation
	Joined          int    `json:"joined"`         // came in after the start to replace someone
	JoinFailed      int    `json:"joinFailed"`     // ... and could not, or got no media
	Reconnected     int    `json:"reconnected"`    // dropped without goodbye, then resumed their place
	ReconnectFailed int    `json:"reconnectFailed"`
	CameraToggles   int    `json:"cameraToggles"` // a publisher's camera turned off or back on
	CameraFailed    int    `json:"cameraFailed"`
	FirstError      string `json:"firstError,omitempty"`
}

func (c *Churn) failed(err error) {
	if c.FirstError == "" {
		c.FirstError = err.Error()
	}
}

func snapshotOf(s serverStats) Snapshot {
	return Snapshot{Goroutines: int(s.goroutines), Threads: int(s.threads), OpenFDs: int(s.openFDs), Sockets: int(s.sockets), DatabaseFiles: int(s.dbFiles),
		HeapMiB: s.heapAlloc / (1 << 20), HeapInuseMiB: s.heapInuse / (1 << 20), RSSMiB: s.rssBytes / (1 << 20),
		Participants: int(s.participants), Connections: int(s.connections)}
}

// scrapeGC reads the metrics after the server collected its garbage.
func (r *run) scrapeGC(ctx context.Context) (serverStats, error) {
	u := r.metrics
	if pu, err := url.Parse(u); err == nil && pu.RawQuery != "" {
		u += "&gc=1"
	} else {
		u += "?gc=1"
	}
	return scrape(ctx, r.hc, u, r.metricsToken)
}

// gcInterval is how often the soak asks for a collection: the server does at
// most one a second.
const gcInterval = 1100 * time.Millisecond

// baseline waits for a server nobody has joined to settle (the same
// goroutines and open files twice running, at most 15 s) and returns it.
func (r *run) baseline(ctx context.Context) (serverStats, error) {
	prev, err := r.scrapeGC(ctx)
	if err != nil {
		return prev, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if err := sleep(ctx, gcInterval); err != nil {
			return prev, err
		}
		s, err := r.scrapeGC(ctx)
		if err != nil {
			return s, err
		}
		if s.goroutines == prev.goroutines && s.openFDs == prev.openFDs {
			return s, nil
		}
		prev = s
	}
	return prev, nil
}

// soak runs the soak scenario: the baseline, everyone in, the meeting
// with its comings and goings and samples, everyone out, the wait for
// the server to return to its baseline.
func (r *run) soak(ctx context.Context, res *Result) error {
	cfg := r.cfg
	s := &SoakResult{Publishers: cfg.Publishers, Margins: cfg.Margins}
	res.Soak = s
	before, err := r.baseline(ctx)
	if err != nil {
		return err
	}
	s.Before = snapshotOf(before)
	r.progress("baseline: %d goroutines, %d open files (%d sockets, %d the database's), live heap %.1f MiB, RSS %.1f MiB",
		s.Before.Goroutines, s.Before.OpenFDs, s.Before.Sockets, s.Before.DatabaseFiles, s.Before.HeapMiB, s.Before.RSSMiB)
	if err := r.load(ctx, res); err != nil {
		return err
	}
	if res.Joins.Failed > 0 {
		return fmt.Errorf("%d of %d could not join: %s", res.Joins.Failed, cfg.N, res.Joins.FirstError)
	}

	// The meeting.
	r.progress("all %d receiving; the meeting lasts %v (a sample every %v, someone comes or goes every %v)",
		cfg.N, cfg.Window, cfg.Sample, cfg.Churn)
	ch := &churner{r: r, s: s, camerasOn: cfg.Publishers}
	start, err := r.scrapeGC(ctx)
	if err != nil {
		return err
	}
	genStart := cpuTime()
	s.Samples = append(s.Samples, Sample{Snapshot: snapshotOf(start), RSSBeforeGCMiB: start.rssBytes / (1 << 20)})
	sampleTick := time.NewTicker(cfg.Sample)
	defer sampleTick.Stop()
	var churnTick <-chan time.Time
	if cfg.Churn > 0 {
		t := time.NewTicker(cfg.Churn)
		defer t.Stop()
		churnTick = t.C
	}
	end := time.NewTimer(cfg.Window)
	defer end.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end.C:
			done = true
		case <-churnTick:
			ch.step(ctx)
		case <-sampleTick.C:
			plain, err := scrape(ctx, r.hc, r.metrics, r.metricsToken)
			if err != nil {
				return err
			}
			g, err := r.scrapeGC(ctx)
			if err != nil {
				return err
			}
			s.Samples = append(s.Samples, Sample{Seconds: g.at.Sub(start.at).Seconds(), Snapshot: snapshotOf(g),
				RSSBeforeGCMiB: plain.rssBytes / (1 << 20)})
			sm := s.Samples[len(s.Samples)-1]
			r.progress("%4.0f s: %d in, %d goroutines, %d open files, live heap %.1f MiB, RSS %.1f MiB (%.1f before GC), %.0f pkt/s",
				sm.Seconds, sm.Participants, sm.Goroutines, sm.OpenFDs, sm.HeapMiB, sm.RSSMiB, sm.RSSBeforeGCMiB,
				(g.packets-start.packets)/sm.Seconds)
		}
	}
	// Whoever is in the meeting now still receives all they should.
	ch.restoreCamera(ctx)
	s.NotReceiving = r.stillReceiving(ctx, ch.wants())
	stop, err := scrape(ctx, r.hc, r.metrics, r.metricsToken)
	if err != nil {
		return err
	}
	s.Seconds = stop.at.Sub(start.at).Seconds()
	s.ForwardedPackets = stop.packets - start.packets
	s.ForwardedPerSecond = s.ForwardedPackets / s.Seconds
	s.ServerUtilisation = (stop.cpuSeconds - start.cpuSeconds) / s.Seconds
	s.GeneratorUtilisation = (cpuTime() - genStart).Seconds() / s.Seconds
	r.countLoss(s)
	s.Peak, s.PeakRSSMiB = peak(s.Samples)
	s.Drift = drift(s.Samples)
	minutes := s.Seconds / 60
	if s.Drift.Goroutines*minutes > float64(cfg.Margins.Goroutines) {
		s.Drifting = append(s.Drifting, "goroutines")
	}
	if s.Drift.OpenFDs*minutes > float64(cfg.Margins.OpenFDs) {
		s.Drifting = append(s.Drifting, "open files")
	}
	if s.Drift.HeapMiB*minutes > cfg.Margins.HeapMiB {
		s.Drifting = append(s.Drifting, "heap")
	}

	// Everyone leaves, and the server returns to its baseline.
	r.progress("everyone leaves; waiting up to %v for the server to return to its baseline", cfg.Settle)
	r.leaveAll()
	left := time.Now()
	deadline := left.Add(cfg.Settle)
	for {
		if err := sleep(ctx, gcInterval); err != nil {
			return err
		}
		a, err := r.scrapeGC(ctx)
		if err != nil {
			return err
		}
		s.After = snapshotOf(a)
		s.SettleSeconds = time.Since(left).Seconds()
		s.Excess = excess(s.Before, s.After, cfg.Margins)
		if len(s.Excess) == 0 || time.Now().After(deadline) {
			break
		}
	}
	s.Leaked = len(s.Excess) > 0
	r.progress("after %.1f s: %d goroutines, %d open files (%d sockets, %d the database's), live heap %.1f MiB, RSS %.1f MiB", s.SettleSeconds,
		s.After.Goroutines, s.After.OpenFDs, s.After.Sockets, s.After.DatabaseFiles, s.After.HeapMiB, s.After.RSSMiB)
	return nil
}

// excess names the figures of after beyond the margins over before.
func excess(before, after Snapshot, m Margins) []string {
	var out []string
	if after.Participants > 0 || after.Connections > 0 {
		out = append(out, fmt.Sprintf("%d participants and %d signalling sockets still counted", after.Participants, after.Connections))
	}
	if d := after.Goroutines - before.Goroutines; d > m.Goroutines {
		out = append(out, fmt.Sprintf("goroutines +%d", d))
	}
	if before.DatabaseFiles >= 0 && after.DatabaseFiles >= 0 {
		if d := (after.OpenFDs - after.DatabaseFiles) - (before.OpenFDs - before.DatabaseFiles); d > m.OpenFDs {
			out = append(out, fmt.Sprintf("open files +%d (not counting the database's)", d))
		}
	} else if d := after.OpenFDs - before.OpenFDs; d > m.OpenFDs {
		out = append(out, fmt.Sprintf("open files +%d", d))
	}
	if d := after.Sockets - before.Sockets; before.Sockets >= 0 && d > m.Sockets {
		out = append(out, fmt.Sprintf("sockets +%d", d))
	}
	if d := after.HeapMiB - before.HeapMiB; d > m.HeapMiB {
		out = append(out, fmt.Sprintf("heap +%.1f MiB", d))
	}
	return out
}

// peak is the highest of each figure over the samples.
func peak(samples []Sample) (Snapshot, float64) {
	var p Snapshot
	var rss float64
	for _, s := range samples {
		p.Goroutines = max(p.Goroutines, s.Goroutines)
		p.Threads = max(p.Threads, s.Threads)
		p.OpenFDs = max(p.OpenFDs, s.OpenFDs)
		p.Sockets = max(p.Sockets, s.Sockets)
		p.HeapMiB = max(p.HeapMiB, s.HeapMiB)
		p.HeapInuseMiB = max(p.HeapInuseMiB, s.HeapInuseMiB)
		p.RSSMiB = max(p.RSSMiB, s.RSSMiB)
		p.Participants = max(p.Participants, s.Participants)
		p.Connections = max(p.Connections, s.Connections)
		rss = max(rss, s.RSSBeforeGCMiB)
	}
	return p, rss
}

// drift fits a line through each figure over the samples (least squares)
// and gives its slope per minute.
func drift(samples []Sample) Drift {
	slope := func(y func(Sample) float64) float64 {
		n := float64(len(samples))
		if n < 2 {
			return 0
		}
		var sx, sy, sxx, sxy float64
		for _, s := range samples {
			x := s.Seconds / 60
			sx, sy, sxx, sxy = sx+x, sy+y(s), sxx+x*x, sxy+x*y(s)
		}
		d := n*sxx - sx*sx
		if d == 0 {
			return 0
		}
		return (n*sxy - sx*sy) / d
	}
	return Drift{
		Goroutines: slope(func(s Sample) float64 { return float64(s.Goroutines) }),
		OpenFDs:    slope(func(s Sample) float64 { return float64(s.OpenFDs) }),
		HeapMiB:    slope(func(s Sample) float64 { return s.HeapMiB }),
	}
}

// countLoss adds up every track anyone received during the soak.
func (r *run) countLoss(s *SoakResult) {
	r.mu.Lock()
	people := append([]*participant(nil), r.people...)
	r.mu.Unlock()
	for _, p := range people {
		for _, t := range p.allTracks() {
			c := t.snapshot()
			s.Expected += c.expected
			s.Lost += c.expected - c.unique
			if c.expected > 0 {
				s.WorstTrackLossPercent = math.Max(s.WorstTrackLossPercent, 100*float64(c.expected-c.unique)/float64(c.expected))
			}
		}
	}
	if s.Expected > 0 {
		s.LossPercent = 100 * float64(s.Lost) / float64(s.Expected)
	}
}

// stillReceiving counts those in the meeting (want gives how many tracks
// each should get) who do not receive that many tracks within a bounded
// wait: tracks whose packets keep coming, not those that ended.
func (r *run) stillReceiving(ctx context.Context, want map[*participant]int) int {
	first := map[*trackStats]int64{}
	for p := range want {
		for _, t := range p.allTracks() {
			first[t] = t.snapshot().unique
		}
	}
	deadline := time.Now().Add(min(r.cfg.JoinTimeout, 15*time.Second))
	for {
		if sleep(ctx, 500*time.Millisecond) != nil {
			return len(want)
		}
		missing := 0
		for p, n := range want {
			flowing := 0
			for _, t := range p.allTracks() {
				if c, ok := first[t]; ok && t.snapshot().unique > c || !ok && t.snapshot().unique > 0 {
					flowing++
				}
			}
			if flowing < n {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return missing
		}
	}
}

// churner makes the soak's comings and goings, one per step, in turn:
//
//  1. a listener says goodbye and a new one joins;
//  2. a listener's network drops (no goodbye) and it resumes its place
//     from a new address;
//  3. a publisher turns its camera off (and back on at the next turn);
//  4. a publisher says goodbye and a new one joins;
//  5. a listener's network drops for good (the server keeps its place
//     until the resume grace runs out) and a new listener joins;
//  6. someone joins and closes at once, while their connection is still
//     being negotiated, and never comes back.
type churner struct {
	r         *run
	s         *SoakResult
	n         int
	camerasOn int
	// off is the publisher whose camera is off, if any.
	off     *participant
	nextPub int
}

// live returns those in the meeting now, publishers and listeners apart.
func (c *churner) live() (pubs, listeners []*participant) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	for _, p := range c.r.people {
		if p.c == nil {
			continue
		}
		if p.publisher {
			pubs = append(pubs, p)
		} else {
			listeners = append(listeners, p)
		}
	}
	return pubs, listeners
}

// wants says how many tracks each in the meeting should receive now.
func (c *churner) wants() map[*participant]int {
	pubs, listeners := c.live()
	w := map[*participant]int{}
	for _, p := range pubs {
		w[p] = 2 * (len(pubs) - 1)
		if c.off != nil && p != c.off {
			w[p]--
		}
	}
	for _, p := range listeners {
		w[p] = len(pubs) + c.camerasOn
	}
	return w
}

// joined brings a new participant in and waits for its media.
func (c *churner) joined(ctx context.Context, publish bool, want int) {
	q := c.r.join(ctx, publish, want)
	if q.err == nil {
		q.err = c.r.await(ctx, []*participant{q})
	}
	if q.err != nil {
		c.s.Churn.JoinFailed++
		c.s.Churn.failed(fmt.Errorf("join: %w", q.err))
		return
	}
	c.s.Churn.Joined++
}

// leave says goodbye for p.
func leave(p *participant) {
	p.stopMedia()
	p.c.Leave()
	p.c = nil
}

func (c *churner) step(ctx context.Context) {
	defer func() { c.n++ }()
	pubs, listeners := c.live()
	turn := c.n / 6
	pick := func(ps []*participant, k int) *participant { return ps[k%len(ps)] }
	switch c.n % 6 {
	case 0: // a listener leaves, another joins
		if len(listeners) == 0 {
			return
		}
		leave(pick(listeners, turn))
		c.s.Churn.Left++
		c.joined(ctx, false, len(pubs)+c.camerasOn)
	case 1: // a listener drops and resumes
		if len(listeners) == 0 {
			return
		}
		p := pick(listeners, turn+len(listeners)/2)
		token := p.c.ResumeToken()
		p.c.Drop()
		p.c = nil
		q := c.r.joinResume(ctx, false, len(pubs)+c.camerasOn, token)
		if q.err == nil && !q.c.Resumed() {
			q.err = fmt.Errorf("welcomed as someone new, not resumed")
		}
		if q.err == nil {
			q.err = c.r.await(ctx, []*participant{q})
		}
		if q.err != nil {
			c.s.Churn.ReconnectFailed++
			c.s.Churn.failed(fmt.Errorf("reconnect: %w", q.err))
			return
		}
		c.s.Churn.Reconnected++
	case 2: // a camera goes off, or back on
		if c.off != nil {
			c.restoreCamera(ctx)
			return
		}
		if len(pubs) == 0 {
			return
		}
		p := pick(pubs, c.nextPub)
		c.nextPub++
		p.stopCamera()
		if err := p.c.Unpublish("camera"); err != nil {
			c.s.Churn.CameraFailed++
			c.s.Churn.failed(fmt.Errorf("camera off: %w", err))
			return
		}
		c.off = p
		c.camerasOn--
		c.s.Churn.CameraToggles++
	case 3: // a publisher leaves, another joins
		if len(pubs) == 0 {
			return
		}
		p := pick(pubs, turn)
		if p == c.off {
			c.off = nil
			c.camerasOn++ // the newcomer's is on
		}
		leave(p)
		c.s.Churn.PublishersLeft++
		w := 2 * (len(pubs) - 1)
		if c.off != nil {
			w--
		}
		c.joined(ctx, true, w)
	case 4: // a listener vanishes; another joins
		if len(listeners) == 0 {
			return
		}
		p := pick(listeners, turn+1)
		p.c.Drop()
		p.c = nil
		c.s.Churn.Vanished++
		c.joined(ctx, false, len(pubs)+c.camerasOn)
	case 5: // someone joins and is gone at once
		q := c.r.join(ctx, false, 0)
		if q.err != nil {
			c.s.Churn.JoinFailed++
			c.s.Churn.failed(fmt.Errorf("join: %w", q.err))
			return
		}
		q.c.Close()
		q.c = nil
		c.s.Churn.Abandoned++
	}
}

// restoreCamera turns the camera that is off back on.
func (c *churner) restoreCamera(ctx context.Context) {
	p := c.off
	if p == nil {
		return
	}
	c.off = nil
	if p.c == nil {
		return
	}
	if _, err := p.c.Publish("camera"); err != nil {
		c.s.Churn.CameraFailed++
		c.s.Churn.failed(fmt.Errorf("camera on: %w", err))
		return
	}
	c.camerasOn++
	c.s.Churn.CameraToggles++
	c.r.pumpCamera(p)
}

// write prints a soak's result for people.
func (s *SoakResult) write(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	p("scenario", "soak: %d participants for %.0f s, %d with camera (%.2f Mbit/s at %d fps) and microphone, the rest listening",
		r.N, s.Seconds, s.Publishers, float64(r.VideoBitrate)/1e6, r.FPS)
	p("", "server\tgoroutines\tthreads\topen files\tof them sockets\theap live MiB\theap in use MiB\tRSS MiB")
	row := func(k string, x Snapshot) {
		p("", "%s\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f", k, x.Goroutines, x.Threads, x.OpenFDs, x.Sockets, x.HeapMiB, x.HeapInuseMiB, x.RSSMiB)
	}
	row("before", s.Before)
	row("peak", s.Peak)
	row(fmt.Sprintf("after (+%.1f s)", s.SettleSeconds), s.After)
	verdict := "back at baseline"
	if s.Leaked {
		verdict = "NOT back at baseline: " + strings.Join(s.Excess, ", ")
	}
	p("leak check", "%s (margins: %d goroutines, %d open files, %d sockets, %.0f MiB live heap)", verdict,
		s.Margins.Goroutines, s.Margins.OpenFDs, s.Margins.Sockets, s.Margins.HeapMiB)
	drifting := "flat"
	if len(s.Drifting) > 0 {
		drifting = "growing: " + strings.Join(s.Drifting, ", ")
	}
	p("drift", "%s (%+.2f goroutines, %+.2f open files, %+.2f MiB heap per minute over %d samples)", drifting,
		s.Drift.Goroutines, s.Drift.OpenFDs, s.Drift.HeapMiB, len(s.Samples))
	p("peak RSS before GC", "%.1f MiB", s.PeakRSSMiB)
	p("forwarded", "%.0f packets, %.0f pkt/s", s.ForwardedPackets, s.ForwardedPerSecond)
	p("CPU", "server %.3f, generator %.3f CPU-s/s (server CPUs %s, generator %s)", s.ServerUtilisation,
		s.GeneratorUtilisation, orAll(r.Server.CPUs), orAll(r.GeneratorCPUs))
	p("loss", "%.3f %% (%d of %d), worst track %.2f %%", s.LossPercent, s.Lost, s.Expected, s.WorstTrackLossPercent)
	p("joins", "%d ok at the start, %d failed", r.Participants, r.Joins.Failed)
	ch := s.Churn
	p("churn", "%d listeners and %d publishers left, %d vanished, %d joined and closed at once; %d joined (%d failed); %d reconnected (%d failed); %d camera toggles (%d failed)",
		ch.Left, ch.PublishersLeft, ch.Vanished, ch.Abandoned, ch.Joined, ch.JoinFailed, ch.Reconnected,
		ch.ReconnectFailed, ch.CameraToggles, ch.CameraFailed)
	if ch.FirstError != "" {
		p("first churn error", "%s", ch.FirstError)
	}
	p("at the end", "%d in the meeting not receiving all they should", s.NotReceiving)
	p("machine", "%s, %d CPUs, Linux %s, %s", r.Machine.CPU, r.Machine.CPUs, r.Machine.Kernel, r.Machine.Go)
	return tw.Flush()
}
