package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"golang.org/x/sys/unix"
)

// The scenarios.
const (
	FanOut    = "fanout"    // one publisher, N subscribers
	Meeting   = "meeting"   // N participants, each publishing and receiving all others
	JoinStorm = "joinstorm" // one publisher; N subscribers join within one second
	// Soak is a meeting of N held for Window while people come and go,
	// then everyone leaves and the server must return to its baseline
	// (soak.go).
	Soak = "soak"
)

// Config is one load test run.
type Config struct {
	Scenario string
	// N is the number of subscribers (fanout, joinstorm) or of
	// participants (meeting).
	N int
	// Video: bits per second (averaged over key and delta frames), frames
	// per second, and the key frame interval. Audio is always Opus-like,
	// 50 packets a second.
	Bitrate          int
	FPS              int
	KeyframeInterval time.Duration
	// Warmup runs after everyone receives media and before measuring;
	// Window is how long the measurement lasts.
	Warmup, Window time.Duration
	// JoinTimeout bounds how long a participant may take to receive all it
	// should.
	JoinTimeout time.Duration

	// URL is an existing server to load (its /metrics must be on);
	// empty starts a child server from Binary. With URL, Meeting (an open
	// meeting: no waiting room, joining before the host allowed) and
	// Passcode say where to join.
	URL, Meeting, Passcode string
	// MetricsURL overrides URL+"/metrics"; MetricsToken is the server's
	// metrics.token (a child server gets one of its own).
	MetricsURL, MetricsToken string
	// SecondURL is another node of URL's cluster: every second subscriber
	// joins through it, and its /metrics (same token) count too
	// (crossnode.go). Fan-out and join storm only.
	SecondURL string
	// Binary is the kaigi executable for the child server (default: this
	// one); ChildEnv is added to its environment.
	Binary   string
	ChildEnv []string
	// ServerCPU pins the child server and CPU the load generator to one
	// CPU each; negative means not pinned.
	ServerCPU, CPU int

	// The soak: Publishers of the N participants send camera and
	// microphone, the others only listen; every Churn (zero: never)
	// someone comes or goes; the server is sampled every Sample; after
	// everyone leaves, the server has Settle to return to its baseline
	// within Margins.
	Publishers            int
	Churn, Sample, Settle time.Duration
	Margins               Margins

	// Receiver is how subscribers that do not publish receive media:
	// BrowserReceiver (pion's full chain, NACKs and receiver reports, the
	// default) or LightReceiver (batched reads on shared sockets, SRTP
	// decrypted and counted without pion's chain; lightrecv.go).
	Receiver string

	// Simulcast makes publishers send the camera as three simulcast
	// layers, as a browser does (simulcast.go).
	Simulcast bool

	// Relays makes every participant allocate TURN relays on the server
	// at once (the welcome's turn: URLs go to its PeerConnection), as
	// browsers did before they asked for relays only when a direct path
	// fails. The default mirrors today's web client: no relays, every
	// participant reaching the server directly on this machine
	// (client.Options.NoRelays), so the relays' memory is measured only
	// when asked for.
	Relays bool

	// Progress receives a line now and then; nil is silent.
	Progress io.Writer
	// Logger is for the clients' own messages; nil logs warnings to stderr.
	Logger *slog.Logger
}

// Defaults returns a configuration with the benchmark's media: VP8-like
// video at 1.5 Mbit/s, 30 frames per second, a key frame every 2 s.
func Defaults() Config {
	return Config{Scenario: FanOut, N: 10, Bitrate: 1_500_000, FPS: 30, KeyframeInterval: 2 * time.Second,
		Warmup: 3 * time.Second, Window: 10 * time.Second, JoinTimeout: 60 * time.Second, ServerCPU: -1, CPU: -1,
		Publishers: 5, Churn: 10 * time.Second, Sample: 10 * time.Second, Settle: time.Minute, Margins: DefaultMargins,
		Receiver: BrowserReceiver}
}

func (c *Config) validate() error {
	switch {
	case c.Scenario != FanOut && c.Scenario != Meeting && c.Scenario != JoinStorm && c.Scenario != Soak:
		return fmt.Errorf("scenario %q: want %s, %s, %s or %s", c.Scenario, FanOut, Meeting, JoinStorm, Soak)
	case c.N < 1 || c.N > 1000:
		return fmt.Errorf("n: %d is not between 1 and 1000", c.N)
	case (c.Scenario == Meeting || c.Scenario == Soak) && c.N < 2:
		return fmt.Errorf("n: a meeting needs at least 2 participants")
	case c.Scenario == Soak && (c.Publishers < 1 || c.Publishers > c.N):
		return fmt.Errorf("publishers: %d is not between 1 and n (%d)", c.Publishers, c.N)
	case c.Scenario == Soak && (c.Sample <= 0 || c.Settle <= 0 || c.Churn < 0):
		return fmt.Errorf("sample and settle must be positive, churn not negative")
	case c.Bitrate < 10_000 || c.Bitrate > 50_000_000:
		return fmt.Errorf("bitrate: %d is not between 10 kbit/s and 50 Mbit/s", c.Bitrate)
	case c.FPS < 1 || c.FPS > 120:
		return fmt.Errorf("fps: %d is not between 1 and 120", c.FPS)
	case c.KeyframeInterval < time.Second/time.Duration(c.FPS):
		return fmt.Errorf("keyframe interval %v is shorter than a frame", c.KeyframeInterval)
	case c.Window <= 0 || c.Warmup < 0 || c.JoinTimeout <= 0:
		return fmt.Errorf("window, warmup and join timeout must be positive")
	case c.Receiver != "" && c.Receiver != BrowserReceiver && c.Receiver != LightReceiver:
		return fmt.Errorf("receiver %q: want %s or %s", c.Receiver, BrowserReceiver, LightReceiver)
	case c.URL != "" && c.Meeting == "":
		return fmt.Errorf("with a server URL, give the meeting to join")
	case c.SecondURL != "" && (c.URL == "" || c.Scenario != FanOut && c.Scenario != JoinStorm):
		return fmt.Errorf("a second node goes with a server URL, in a fanout or joinstorm")
	case c.URL == "" && (c.Meeting != "" || c.Passcode != ""):
		return fmt.Errorf("a meeting and passcode go with a server URL; without one the load test makes its own")
	}
	return nil
}

// videoPump shapes frames so that the average is Bitrate: a key frame is
// four times a delta frame.
func (c *Config) videoPump() client.PumpConfig {
	every := max(1, int(c.KeyframeInterval.Seconds()*float64(c.FPS)+0.5))
	avg := c.Bitrate / 8 / c.FPS
	delta := max(16, avg*every/(every+3))
	return client.PumpConfig{FrameInterval: time.Second / time.Duration(c.FPS), FrameBytes: delta,
		KeyframeEvery: every, KeyframeBytes: 4 * delta, ClockRate: 90000, KeyframeOnRequest: true}
}

// run is the state of one load test.
type run struct {
	cfg     Config
	base    string // server origin
	meeting string
	metrics string
	// metricsToken is sent to the metrics endpoint as a bearer token.
	metricsToken string
	log          *slog.Logger
	hc           *http.Client
	spread       bool // give each participant its own loopback address
	api          *webrtc.API
	// light gives subscribers that do not publish their shared sockets
	// when Config.Receiver is LightReceiver; nil otherwise.
	light *lightReceivers

	// pumps ends the synthetic media when the run ends.
	pumps     context.Context
	stopPumps context.CancelFunc

	mu     sync.Mutex
	people []*participant
}

// participant is one synthetic client and what it received.
type participant struct {
	index int
	want  int // tracks it should receive
	// warmup marks the join storm's first subscriber, whose join time is
	// not the storm's.
	warmup bool
	// publisher sends camera and microphone; stopCamera ends the camera's
	// synthetic media, stopMedia all of it.
	publisher             bool
	media                 context.Context
	stopCamera, stopMedia context.CancelFunc
	c                     *client.Client
	start                 time.Time // before dialling the socket
	err                   error

	mu     sync.Mutex
	tracks []*trackStats
}

func (p *participant) allTracks() []*trackStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*trackStats(nil), p.tracks...)
}

// receiving reports whether every track it should get has delivered
// media, a key frame for video (without one, a decoder shows nothing).
func (p *participant) receiving() bool {
	n := 0
	for _, t := range p.allTracks() {
		if t.ready() {
			n++
		}
	}
	return n >= p.want
}

// joinTimes gives the time from dialling to the first media packet and to
// the first key frame (zero when none came).
func (p *participant) joinTimes() (media, key time.Duration) {
	for _, t := range p.allTracks() {
		t.mu.Lock()
		if !t.first.IsZero() && (media == 0 || t.first.Sub(p.start) < media) {
			media = t.first.Sub(p.start)
		}
		if !t.firstKey.IsZero() && (key == 0 || t.firstKey.Sub(p.start) < key) {
			key = t.firstKey.Sub(p.start)
		}
		t.mu.Unlock()
	}
	return media, key
}

// Run carries out one load test and reports what it measured.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, base: cfg.URL, meeting: cfg.Meeting, log: cfg.Logger, metricsToken: cfg.MetricsToken, hc: &http.Client{Timeout: 30 * time.Second}}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	res := &Result{Scenario: cfg.Scenario, N: cfg.N, VideoBitrate: cfg.Bitrate, FPS: cfg.FPS,
		KeyframeInterval: cfg.KeyframeInterval.Seconds(), Simulcast: cfg.Simulcast, Relays: cfg.Relays, Machine: describeMachine()}
	if cfg.URL == "" {
		bin := cfg.Binary
		if bin == "" {
			var err error
			if bin, err = os.Executable(); err != nil {
				return nil, err
			}
		}
		ch, err := startChild(ctx, bin, cfg.ChildEnv, cfg.ServerCPU, os.Stderr)
		if err != nil {
			return nil, err
		}
		defer ch.stop()
		r.base = ch.url
		r.metricsToken = ch.metricsToken
		res.Server.CPUs = ch.cpus
		if r.meeting, err = setUp(ctx, r.base); err != nil {
			return nil, err
		}
	}
	if cfg.CPU >= 0 {
		if err := pinSelf(cfg.CPU); err != nil {
			return nil, err
		}
		res.GeneratorCPUs = allowedCPUs(os.Getpid())
	}
	r.metrics = cfg.MetricsURL
	if r.metrics == "" {
		r.metrics = r.base + "/metrics"
	}
	if u, err := url.Parse(r.base); err == nil {
		ip := net.ParseIP(u.Hostname())
		r.spread = (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost"
	}
	var err error
	interceptors := lightInterceptors
	if cfg.Simulcast {
		interceptors = simulcastInterceptors
	}
	if r.api, err = client.NewAPI(interceptors); err != nil {
		return nil, err
	}
	res.Receiver = BrowserReceiver
	if cfg.Receiver == LightReceiver {
		r.light = &lightReceivers{}
		defer r.light.close() // after everyone left
		res.Receiver = LightReceiver
	}
	r.pumps, r.stopPumps = context.WithCancel(ctx)
	defer r.leaveAll()
	if cfg.Scenario == Soak {
		if err := r.soak(ctx, res); err != nil {
			return nil, err
		}
		return res, nil
	}
	// The baseline is what the server holds in use once it has settled,
	// after a collection that returned freed memory to the system (which
	// debug.FreeOSMemory does at once on Linux in this Go: a just-hashed
	// server's 116 MiB of RSS fall back to a fresh one's 52): not the
	// garbage of the sign-up's password hash (64 MiB of argon2id memory),
	// which made every participant look half a MiB heavier. The soak takes
	// its baseline the same way.
	baseline, err := r.baseline(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.load(ctx, res); err != nil {
		return nil, err
	}
	if err := r.measure(ctx, res, baseline); err != nil {
		return nil, err
	}
	return res, nil
}

// lightInterceptors are what a browser's media path needs of the server's
// behaviour and nothing more: NACKs both ways (repair) and RTCP sender and
// receiver reports (the server's layer choice reads loss from them). pion's
// statistics and congestion-control feedback interceptors cost the
// generator CPU per packet (under a tenth at 1→200, BENCHMARKS.md) that it
// needs to stay lighter than the server it measures.
func lightInterceptors(m *webrtc.MediaEngine, r *interceptor.Registry) error {
	if err := webrtc.ConfigureNack(m, r); err != nil {
		return err
	}
	return webrtc.ConfigureRTCPReports(r)
}

// load brings the participants in for the scenario and waits until each
// receives all it should.
func (r *run) load(ctx context.Context, res *Result) error {
	cfg := r.cfg
	switch cfg.Scenario {
	case FanOut, JoinStorm:
		pub := r.join(ctx, true, 0)
		if pub.err != nil {
			return fmt.Errorf("publisher: %w", pub.err)
		}
		if cfg.Scenario == FanOut {
			r.joinMany(ctx, cfg.N, 8, 0, false, 2)
			break
		}
		// A first subscriber makes sure the publisher's media flows before
		// the storm, so join times are not the publisher's start-up.
		first := r.join(ctx, false, 2)
		first.warmup = true
		if first.err != nil {
			return fmt.Errorf("first subscriber: %w", first.err)
		}
		if err := r.await(ctx, []*participant{first}); err != nil {
			return err
		}
		r.progress("storm: %d subscribers join within one second", cfg.N)
		cam := pub.c.Local("camera")
		asked, start := keyframeRequests(cam), time.Now()
		r.joinMany(ctx, cfg.N, cfg.N, time.Second/time.Duration(cfg.N), false, 2)
		var in []*participant
		for _, p := range r.everyone() {
			if p.err == nil {
				in = append(in, p)
			}
		}
		if err := r.await(ctx, in); err != nil {
			return err
		}
		// What the storm cost the publisher: key frame requests (PLI or
		// FIR) from the first join until everyone had a key frame.
		byLayer, total := requestsSince(keyframeRequests(cam), asked)
		res.Joins.PublisherKeyframeRequests = total
		if cfg.Simulcast {
			res.Joins.PublisherKeyframeRequestsByLayer = byLayer
		}
		res.Joins.StormSeconds = time.Since(start).Seconds()
	case Meeting:
		r.joinMany(ctx, cfg.N, 8, 0, true, 2*(cfg.N-1))
	case Soak:
		r.joinMany(ctx, cfg.Publishers, 8, 0, true, 2*(cfg.Publishers-1))
		r.joinMany(ctx, cfg.N-cfg.Publishers, 8, 0, false, 2*cfg.Publishers)
	}
	people := r.everyone()
	var joined []*participant
	for _, p := range people {
		if p.err != nil {
			res.Joins.Failed++
			if res.Joins.FirstError == "" {
				res.Joins.FirstError = p.err.Error()
			}
			continue
		}
		joined = append(joined, p)
	}
	res.Participants = len(joined)
	if err := r.await(ctx, joined); err != nil {
		return err
	}
	var media, key, wait []time.Duration
	for _, p := range joined {
		if p.want == 0 || p.warmup { // a publisher that receives nothing; the storm's first
			continue
		}
		m, k := p.joinTimes()
		media = append(media, m)
		if k > 0 {
			key = append(key, k)
			wait = append(wait, max(0, k-m))
		}
	}
	res.Joins.OK = len(media)
	res.Joins.ToMediaMs = summarise(media)
	res.Joins.ToKeyframeMs = summarise(key)
	res.Joins.MediaToKeyframeMs = summarise(wait)
	return nil
}

// everyone returns the participants so far, joined or not.
func (r *run) everyone() []*participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*participant(nil), r.people...)
}

// joinMany joins n participants, at most par at a time, starting one every
// spacing (if not zero).
func (r *run) joinMany(ctx context.Context, n, par int, spacing time.Duration, publish bool, want int) {
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	defer wg.Wait() // on every return: the caller reads what the joins wrote
	start := time.Now()
	for i := 0; i < n; i++ {
		if spacing > 0 {
			select {
			case <-time.After(time.Until(start.Add(time.Duration(i) * spacing))):
			case <-ctx.Done():
				return
			}
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r.join(ctx, publish, want)
		}()
		if (i+1)%50 == 0 {
			r.progress("%d of %d joining", i+1, n)
		}
	}
}

// join brings one participant in: it publishes camera and microphone
// (pumping synthetic media until the run ends) if publish is set, and
// expects want remote tracks.
func (r *run) join(ctx context.Context, publish bool, want int) *participant {
	return r.joinResume(ctx, publish, want, "")
}

// joinResume is join, resuming an earlier participant's place if resume
// (its token) is set.
func (r *run) joinResume(ctx context.Context, publish bool, want int, resume string) *participant {
	r.mu.Lock()
	p := &participant{index: len(r.people), want: want, publisher: publish, stopCamera: func() {}}
	p.media, p.stopMedia = context.WithCancel(r.pumps)
	r.people = append(r.people, p)
	r.mu.Unlock()
	api := r.api
	var sock *lightSocket
	if r.light != nil && !publish {
		var err error
		if api, sock, err = r.light.api(); err != nil {
			p.err = err
			return p
		}
	}
	// The name, without spaces, is in the stream IDs of the SDP's msid
	// lines, which a space would split (pion then takes a simulcast
	// camera's layers for Plan B tracks).
	opts := client.Options{BaseURL: r.entry(p.index, publish), Meeting: r.meeting, Passcode: r.cfg.Passcode, Resume: resume,
		Name: fmt.Sprintf("load-%d", p.index), Logger: r.log, API: api, NoRelays: !r.cfg.Relays,
		Observe: func(rt *client.RemoteTrack) func([]byte) {
			ts := &trackStats{video: rt.Kind == "video"}
			p.mu.Lock()
			p.tracks = append(p.tracks, ts)
			p.mu.Unlock()
			if sock != nil {
				// From now on the track's packets are counted on the
				// socket; if that fails, pion's chain counts them.
				if err := sock.register(rt, ts); err != nil {
					r.log.Warn("light receiver: track left to pion", "err", err)
				}
			}
			return ts.observe
		}}
	if publish {
		opts.Publish = []string{"camera", "microphone"}
		opts.Simulcast = r.cfg.Simulcast
	}
	if r.spread {
		// The server limits joins per address; each participant has its
		// own, as it would on a real network.
		ip := net.IPv4(127, 1, byte(p.index/250), byte(p.index%250+1))
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	jctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	p.start = time.Now()
	c, err := client.Join(jctx, opts)
	if err != nil {
		p.err = err
		return p
	}
	if c.Waiting() != "" {
		c.Close()
		p.err = fmt.Errorf("held in the waiting room (%s): the meeting must let people straight in", c.Waiting())
		return p
	}
	p.c = c
	if publish {
		r.pumpCamera(p)
		go func() { _ = c.Local("microphone").Pump(p.media, client.AudioPump) }()
	}
	return p
}

// pumpCamera sends a publisher's synthetic video until the run ends or
// its stopCamera is called.
func (r *run) pumpCamera(p *participant) {
	ctx, cancel := context.WithCancel(p.media)
	p.stopCamera = cancel
	cam := p.c.Local("camera")
	if r.cfg.Simulcast {
		r.pumpLayers(ctx, cam)
		return
	}
	go func() { _ = cam.Pump(ctx, r.cfg.videoPump()) }()
}

// await waits until each participant receives every track it should.
func (r *run) await(ctx context.Context, people []*participant) error {
	deadline := time.Now().Add(r.cfg.JoinTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		waiting := 0
		for _, p := range people {
			if !p.receiving() {
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d participants did not receive all their media within %v", waiting, len(people), r.cfg.JoinTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// measure warms up, then measures the server and every received track
// over the window.
func (r *run) measure(ctx context.Context, res *Result, baseline serverStats) error {
	r.progress("all receiving; warming up for %v", r.cfg.Warmup)
	if err := sleep(ctx, r.cfg.Warmup); err != nil {
		return err
	}
	r.mu.Lock()
	var tracks []*trackStats
	var owner []int // index into subscribers, per track
	var subscribers []*participant
	for _, p := range r.people {
		if ts := p.allTracks(); len(ts) > 0 {
			for _, t := range ts {
				tracks = append(tracks, t)
				owner = append(owner, len(subscribers))
			}
			subscribers = append(subscribers, p)
		}
	}
	r.mu.Unlock()
	before := make([]counts, len(tracks))
	for i, t := range tracks {
		before[i] = t.snapshot()
		t.recording(true)
	}
	a, err := scrape(ctx, r.hc, r.metrics, r.metricsToken)
	if err != nil {
		return err
	}
	a2, err := r.scrapeSecond(ctx)
	if err != nil {
		return err
	}
	genBefore := cpuTime()
	r.progress("measuring for %v", r.cfg.Window)
	if err := sleep(ctx, r.cfg.Window); err != nil {
		return err
	}
	genAfter := cpuTime()
	b, err := scrape(ctx, r.hc, r.metrics, r.metricsToken)
	if err != nil {
		return err
	}
	b2, err := r.scrapeSecond(ctx)
	if err != nil {
		return err
	}
	var lat []time.Duration
	var expected, received int64
	var losses []float64
	perSub := make([]counts, len(subscribers))
	for i, t := range tracks {
		t.recording(false)
		after := t.snapshot()
		e, u := after.expected-before[i].expected, after.unique-before[i].unique
		expected += e
		received += u
		perSub[owner[i]].expected += e
		perSub[owner[i]].unique += u
		if t.video {
			res.Received.VideoLost += e - u
		} else {
			res.Received.AudioLost += e - u
		}
		if e > 0 {
			losses = append(losses, 100*float64(e-u)/float64(e))
		}
		t.mu.Lock()
		lat = append(lat, t.latency...)
		t.mu.Unlock()
	}
	dt := b.at.Sub(a.at).Seconds()
	cpu := b.cpuSeconds - a.cpuSeconds
	res.WindowSeconds = dt
	res.Server.CPUSeconds = cpu
	res.Server.Utilisation = cpu / dt
	res.GeneratorUtilisation = (genAfter - genBefore).Seconds() / dt
	// Memory as the baseline was taken: after a collection, what is in use
	// (the window's CPU is read before it, so the collection costs nothing
	// there).
	live, err := r.scrapeGC(ctx)
	if err != nil {
		return err
	}
	res.Server.RSSBeforeGCMiB = b.rssBytes / (1 << 20)
	res.Server.RSSMiB = live.rssBytes / (1 << 20)
	res.Server.RSSBaselineMiB = baseline.rssBytes / (1 << 20)
	res.Server.StackInuseMiB = live.stackInuse / (1 << 20)
	res.Server.StackBaselineMiB = baseline.stackInuse / (1 << 20)
	res.Server.Goroutines = int(live.goroutines)
	res.Server.GoroutinesBaseline = int(baseline.goroutines)
	haveAnon := live.anonBytes >= 0 && baseline.anonBytes >= 0
	if haveAnon {
		res.Server.AnonMiB = live.anonBytes / (1 << 20)
		res.Server.AnonBaselineMiB = baseline.anonBytes / (1 << 20)
	}
	if n := float64(res.Participants); n > 0 {
		res.Server.RSSPerParticipantMiB = (live.rssBytes - baseline.rssBytes) / (1 << 20) / n
		res.Server.GoroutinesPerParticipant = (live.goroutines - baseline.goroutines) / n
		res.Server.StackPerParticipantMiB = (live.stackInuse - baseline.stackInuse) / (1 << 20) / n
		if haveAnon {
			res.Server.AnonPerParticipantMiB = (live.anonBytes - baseline.anonBytes) / (1 << 20) / n
		}
	}
	res.Forwarded.PacketsPerSecond = (b.packets - a.packets) / dt
	res.Forwarded.Mbps = (b.bytes - a.bytes) * 8 / dt / 1e6
	if cpu > 0 {
		res.Forwarded.PacketsPerCPUSecond = (b.packets - a.packets) / cpu
	}
	r.addSecond(res, a, b, a2, b2) // with a second node, the pair's totals
	res.Received.Tracks = len(losses)
	res.Received.PacketsPerSecond = float64(received) / dt
	res.Received.Expected = expected
	res.Received.Lost = expected - received
	if expected > 0 {
		res.Received.LossPercent = 100 * float64(expected-received) / float64(expected)
	}
	for _, c := range perSub {
		loss := 0.0
		if c.expected > 0 {
			loss = 100 * float64(c.expected-c.unique) / float64(c.expected)
		}
		res.Received.SubscriberLossPercent = append(res.Received.SubscriberLossPercent, loss)
	}
	sort.Float64s(losses)
	if len(losses) > 0 {
		res.Received.WorstTrackLossPercent = losses[len(losses)-1]
	}
	res.LatencyMs = summarise(lat)
	if r.light != nil {
		res.Received.LightPackets, res.Received.Undecryptable = r.light.counted()
	}
	return nil
}

// leaveAll says goodbye for every participant, all at once.
func (r *run) leaveAll() {
	r.stopPumps()
	r.mu.Lock()
	people := r.people
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range people {
		if p.c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); p.c.Leave() }()
		}
	}
	wg.Wait()
}

func (r *run) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "loadtest: "+format+"\n", args...)
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
