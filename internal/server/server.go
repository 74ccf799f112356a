// Package server assembles a Kaigi node from its configuration: the
// database, the SFU, the signalling server and the HTTP surface. cmd/kaigi
// and the end-to-end tests both start Kaigi through it.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/clientaddr"
	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/httpapi"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/metrics"
	"github.com/kaigi-meet/kaigi/internal/recorder"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/signal"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/kaigi-meet/kaigi/internal/turn"
	"github.com/kaigi-meet/kaigi/internal/usage"
	"github.com/kaigi-meet/kaigi/internal/webhook"
	"github.com/kaigi-meet/kaigi/internal/whip"
)

// Version is the server's version, reported to clients and in logs.
const Version = "0.1.0"

// Server is a running Kaigi node.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	db       *store.SQLite
	accounts *auth.Service
	sfu      *sfu.SFU
	turn     *turn.Server
	signal   *signal.Server
	http     *http.Server
	ln       net.Listener
	// stopRun ends this run's keeping of live meetings (directory.go).
	stopRun context.CancelFunc
	// usage counts meetings for the usage figures (internal/usage).
	usage *usage.Recorder
	// certs serves the TLS certificate and reloads it (tlsreload.go);
	// nil without TLS.
	certs *certificates
	// cluster is this node's membership of the cluster (cluster.go).
	cluster *cluster.Node
	// stopWatch stops watching the cluster for nodes that leave (cluster.go).
	stopWatch func()
}

// Options are what a Server is built from besides its configuration.
type Options struct {
	Logger *slog.Logger
	// Web is the built web client.
	Web fs.FS
	// SignalOptions, if set, adjusts the signalling server's options after
	// they are derived from the configuration (tests shorten timeouts).
	SignalOptions func(*signal.Options)
	// WrapListener, if set, wraps the HTTP listener (tests use it to cut
	// connections as a failing network would).
	WrapListener func(net.Listener) net.Listener
	// HashParams, if set, replace argon2id's costs (tests make them cheap).
	HashParams auth.HashParams
}

// New opens the database, builds every component and listens on
// cfg.Listen. It does not serve until Serve is called.
func New(ctx context.Context, cfg config.Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	sealer, err := auth.LoadOrCreateSealer(cfg.Data)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.Database, cfg.Data, sealer)
	if err != nil {
		return nil, err
	}
	if err := checkAudit(ctx, db, log); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit log: %w", err)
	}
	s := &Server{cfg: cfg, log: log, db: db}
	s.accounts = auth.NewService(auth.Options{Store: db, Sealer: sealer, Hash: opts.HashParams, Logger: log,
		// s.signal exists before anyone can sign out.
		EndParticipation: func(userID, reason, message string) { s.signal.EndAccount(userID, reason, message) },
		AuditMinimumDays: cfg.Retention.AuditMinimumDays})
	ok := false
	defer func() {
		if !ok {
			s.closeResources()
		}
	}()
	runCtx, stopRun := context.WithCancel(context.Background())
	s.stopRun = stopRun
	live, err := startRun(runCtx, db, log)
	if err != nil {
		return nil, err
	}

	s.sfu, err = sfu.New(sfu.Config{
		PublicIPs:       cfg.WebRTC.PublicIPs,
		UDPPort:         cfg.WebRTC.UDPPort,
		UDPPortMin:      uint16(cfg.WebRTC.UDPPortMin),
		UDPPortMax:      uint16(cfg.WebRTC.UDPPortMax),
		IncludeLoopback: cfg.WebRTC.Loopback(),
		LoopbackAuto:    cfg.WebRTC.LoopbackAuto(),
		ICETCP:          cfg.WebRTC.TCP(),
		TCPPort:         cfg.WebRTC.TCPPort,
		Interfaces:      cfg.WebRTC.Interfaces,
		NoIPv6:          !cfg.WebRTC.V6(),
		Logger:          log,
	})
	if err != nil {
		return nil, fmt.Errorf("sfu: %w", err)
	}
	if cfg.TURN.On() {
		var public []netip.Addr
		for _, ip := range cfg.WebRTC.PublicIPs {
			public = append(public, netip.MustParseAddr(ip)) // checked by Validate
		}
		s.turn, err = turn.New(turn.Config{
			Port:           cfg.TURN.Port,
			Realm:          cfg.TURN.Realm,
			RelayIPs:       public,
			BindAny:        len(public) > 0,
			RelayPortMin:   uint16(cfg.TURN.RelayPortMin),
			RelayPortMax:   uint16(cfg.TURN.RelayPortMax),
			MaxAllocations: cfg.TURN.MaxAllocations,
			Peers:          s.sfu,
			Logger:         log,
		})
		if err != nil {
			return nil, err
		}
	}

	sigOpts := signal.Options{
		Meetings:        newUsedDirectory(directory{db}, log), // notes each meeting's last use (retention.go)
		Identify:        httpapi.Identify(s.accounts),
		SFU:             s.sfu,
		Logger:          log,
		ServerVersion:   "kaigi/" + Version,
		MaxParticipants: cfg.Meetings.MaxParticipants,
		Kept:            live,
	}
	s.usage = usage.NewRecorder(usage.Options{Store: db, Logger: log})
	// Webhooks (internal/webhook) learn of meetings where usage is
	// counted; loopback receivers only on a development server (no TLS,
	// no public URL).
	hooks := webhook.New(webhook.Options{Store: db, Logger: log, AllowLoopback: !cfg.TLS.Enabled() && cfg.PublicURL == ""})
	go hooks.Run()
	stopHooks := s.stopRun // closing stores the events still queued
	s.stopRun = func() { stopHooks(); hooks.Close() }
	sigOpts.Usage = webhook.NewTap(s.usage, hooks, nil)
	// Server recording of meetings without end-to-end encryption
	// (internal/recorder), stored as recordings; recording.ready as a
	// browser's finish sends it.
	serverRec := recorder.New(recorder.Options{Store: db, Logger: log, Ready: func(r store.Recording) {
		chunks, size := r.Chunks, r.Bytes
		hooks.Emit(webhook.Event{Type: webhook.RecordingReady, Time: time.Now(), Meeting: r.MeetingID, Recording: r.ID, Chunks: &chunks, Bytes: &size})
	}, Audit: func(ctx context.Context, e audit.Entry) error {
		_, err := db.AppendAudit(ctx, e)
		return err
	}})
	stopRecs := s.stopRun // the recordings are stored before the webhooks and the store close
	s.stopRun = func() { serverRec.Close(); stopRecs() }
	sigOpts.RecordOnServer = func(ctx context.Context, meetingID, userID string, router *sfu.Router, ended func(string)) (string, func(), error) {
		rec, err := serverRec.Start(ctx, meetingID, userID, router, ended)
		if err != nil {
			return "", nil, err
		}
		return rec.ID, rec.Stop, nil
	}
	if s.turn != nil {
		sigOpts.ICEServersFor = s.turnServers
	}
	for _, ice := range cfg.WebRTC.ICEServers {
		sigOpts.ICEServers = append(sigOpts.ICEServers, signal.ICEServer{URLs: ice.URLs, Username: ice.Username, Credential: ice.Credential})
	}
	if cfg.PublicURL != "" {
		u, _ := url.Parse(cfg.PublicURL) // checked by Validate
		sigOpts.OriginPatterns = []string{u.Host}
	}
	countries, err := openGeoIP(ctx, cfg, s.accounts, log)
	if err != nil {
		return nil, err
	}
	sigOpts.Countries = countries
	sigOpts.Regions = func(ctx context.Context, own *meeting.Regions) (string, error) {
		org, err := s.accounts.Org(ctx)
		if err != nil {
			return "", err
		}
		refusal, _, _ := meeting.RegionVerdict(cfg.Region, org.Regions, own)
		return refusal, nil
	}
	if opts.SignalOptions != nil {
		opts.SignalOptions(&sigOpts)
	}
	s.signal = signal.NewServer(sigOpts)
	s.startRetention(runCtx)

	handler := httpapi.New(httpapi.Options{
		Meetings:  db,
		Accounts:  s.accounts,
		Signal:    s.signal,
		Live:      clusterLive{Server: s.signal, s: s},
		Usage:     s.usage,
		Web:       opts.Web,
		PublicURL: cfg.PublicURL,
		TLS:       cfg.TLS.Enabled(),
		Health:    db.Ping,
		Logger:    log,
		Version:   Version,
		// Outside STUN/TURN servers, named on the privacy page.
		ICEServerURLs: iceServerURLs(cfg),
		Countries:     countries,
		Region:        cfg.Region,
		// API tokens (httpapi/tokens.go) are kept in the database.
		Tokens:   db,
		Webhooks: hooks,
		// Recordings encrypted in browsers (httpapi/recordings.go).
		Recordings: db,
		// WHIP ingest into meetings and WHEP egress (internal/whip).
		Ingest: httpapi.Ingest{Tokens: db, WHIP: whip.New(whip.Options{Tokens: db, Rooms: s.signal, Viewers: s.signal, Logger: log})},
		// Served only with a token (config metrics.token).
		MetricsToken: cfg.Metrics.Token,
		Metrics: metrics.Handler(metrics.Sources{
			Meetings:         func() int { return s.signal.Stats().Meetings },
			Participants:     func() int { return s.signal.Stats().Participants },
			Connections:      func() int { return s.signal.Stats().Connections },
			ForwardedPackets: func() uint64 { return s.sfu.Stats().ForwardedPackets },
			ForwardedBytes:   func() uint64 { return s.sfu.Stats().ForwardedBytes },
			CountryRefusals:  s.signal.CountryRefusals,
			BatchedDatagrams: func() uint64 { return s.sfu.Stats().BatchedDatagrams },
			BatchSyscalls:    func() uint64 { return s.sfu.Stats().BatchSyscalls },
			BatchSendErrors:  func() uint64 { return s.sfu.Stats().BatchSendErrors },
		}),
	})
	// Behind trusted reverse proxies, every limit, rule and log line
	// sees the client's address, not the proxy's.
	proxies, err := clientaddr.Parse(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	s.http = &http.Server{
		Handler:           proxies.Handler(handler),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}

	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if opts.WrapListener != nil {
		s.ln = opts.WrapListener(s.ln)
	}
	if cfg.TLS.Enabled() {
		s.certs, err = loadCertificates(ctx, cfg.TLS, db, log)
		if err != nil {
			s.ln.Close()
			return nil, err
		}
		s.ln = tls.NewListener(s.ln, s.certs.tlsConfig())
		s.certs.watch(certificateCheck)
	}
	if err := s.startCluster(ctx); err != nil {
		s.ln.Close()
		return nil, err
	}
	ok = true
	return s, nil
}

// URL is the address to open in a browser.
func (s *Server) URL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL + "/"
	}
	scheme := "http"
	if s.cfg.TLS.Enabled() {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

// turnServers names the embedded TURN server, over UDP and TCP, with fresh
// credentials of the participant's own. The host is the public URL's when
// set (the name people use); else a public IP (1:1 NAT) of the family of
// the address the participant's socket reached; else that address itself,
// never a name taken from the request.
func (s *Server) turnServers(participant, host string) []signal.ICEServer {
	if s.cfg.PublicURL != "" {
		u, _ := url.Parse(s.cfg.PublicURL) // checked by Validate
		host = u.Hostname()
	} else if ips := s.cfg.WebRTC.PublicIPs; len(ips) > 0 {
		reached, _ := netip.ParseAddr(host)
		host = ips[0]
		for _, ip := range ips {
			if a := netip.MustParseAddr(ip); a.Is4() == reached.Unmap().Is4() {
				host = ip
				break
			}
		}
	}
	if host == "" {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(s.turn.Port()))
	user, pass := s.turn.Credentials(participant)
	return []signal.ICEServer{{
		URLs:       []string{"turn:" + addr + "?transport=udp", "turn:" + addr + "?transport=tcp"},
		Username:   user,
		Credential: pass,
	}}
}

// TURN returns the embedded TURN server, or nil when it is off.
func (s *Server) TURN() *turn.Server { return s.turn }

// SFU returns the server's SFU (for tests and metrics).
func (s *Server) SFU() *sfu.SFU { return s.sfu }

// Signal returns the signalling server (for tests that play a tampered
// server).
func (s *Server) Signal() *signal.Server { return s.signal }

// FlushUsage saves the usage figures counted so far (for tests; the
// server saves them every minute and when it stops).
func (s *Server) FlushUsage(ctx context.Context) error { return s.usage.Flush(ctx) }

// Accounts returns the server's account service (for the admin command
// and tests).
func (s *Server) Accounts() *auth.Service { return s.accounts }

// Serve serves until ctx is cancelled, then stops gracefully: it drains
// (nobody new joins, clients are told, meetings go on until they empty or
// the configured drain_timeout passes), then clients are told the server
// is stopping, sockets close (clients resume once it is back), and the
// database is closed.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	select {
	case err := <-errc:
		s.closeResources()
		return err
	case <-ctx.Done():
	}
	if s.cluster != nil {
		s.cluster.SetDraining(true) // no new meetings placed here
	}
	if d := s.cfg.DrainTimeout; d > 0 {
		s.log.Info("draining: no new joins; stopping once nobody is connected, at the latest after", "drain_timeout", d)
		s.signal.Drain(context.Background(), d)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.signal.Shutdown(shutdownCtx); err != nil {
		s.log.Warn("signalling shutdown", "err", err)
	}
	err := s.http.Shutdown(shutdownCtx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	s.closeResources()
	return err
}

func (s *Server) closeResources() {
	if s.stopRun != nil {
		s.stopRun()
	}
	if s.certs != nil {
		s.certs.close()
	}
	if s.stopWatch != nil {
		s.stopWatch()
	}
	if s.cluster != nil {
		s.cluster.Close() // leaves the registry at once
	}
	if s.usage != nil {
		// After the signalling server closed its meetings, before the
		// database closes: the figures so far are saved.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.usage.Close(ctx); err != nil {
			s.log.Error("save usage figures", "err", err)
		}
		cancel()
	}
	if s.turn != nil {
		s.turn.Close()
	}
	if s.sfu != nil {
		s.sfu.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}
