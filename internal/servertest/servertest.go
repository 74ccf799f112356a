// Package servertest starts a complete Kaigi server on 127.0.0.1 for tests
// in other packages: the pion integration tests and the browser tests.
package servertest

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/server"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// Options adjust a test server.
type Options struct {
	// Config changes the configuration (Listen and Data are set already).
	Config func(*config.Config)
	// Signal changes the signalling options (e.g. shorter timeouts).
	Signal func(*signal.Options)
	// Web is the web client to serve; nil serves a placeholder page.
	Web fs.FS
}

// Server is a running test server.
type Server struct {
	*server.Server
	// URL is its origin, without a trailing slash.
	URL  string
	ln   *cuttableListener
	logs *syncBuffer

	adminOnce sync.Once
	admin     *Account
}

// Logs returns everything the server has logged so far (at debug level),
// for tests that check what must never be logged.
func (s *Server) Logs() string { return s.logs.String() }

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// DropConnections closes every TCP connection the server has accepted, as
// a network failure would: no close handshake, no goodbye. Clients see
// their sockets die and reconnect.
func (s *Server) DropConnections() { s.ln.cut() }

// cuttableListener remembers accepted connections so they can be cut.
type cuttableListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (l *cuttableListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns[c] = struct{}{}
		l.mu.Unlock()
	}
	return c, err
}

func (l *cuttableListener) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // reset, not a graceful FIN
		}
		c.Close()
	}
	l.conns = make(map[net.Conn]struct{})
}

// MetricsToken is the token a test server serves /metrics with.
const MetricsToken = "servertest-metrics-token"

// Start starts a server with a fresh data directory and stops it when the
// test ends. Set KAIGI_TEST_DEBUG=1 to see its debug logs.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.Metrics.Token = MetricsToken
	cfg.DrainTimeout = 0 // tests end at once (kaigi serve's drain: Process)
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	// Everything is captured at debug level; warnings and errors (or all,
	// with KAIGI_TEST_DEBUG) also go to stderr.
	logs := &syncBuffer{}
	level := slog.LevelWarn
	if os.Getenv("KAIGI_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(teeHandler{
		slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}),
	})
	web := opts.Web
	if web == nil {
		web = fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>test</title>")}}
	}
	cl := &cuttableListener{conns: make(map[net.Conn]struct{})}
	wrap := func(ln net.Listener) net.Listener { cl.Listener = ln; return cl }
	srv, err := server.New(context.Background(), cfg, server.Options{Logger: log, Web: web, SignalOptions: opts.Signal,
		WrapListener: wrap, HashParams: auth.HashParams{Memory: 1024, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ctx); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return &Server{Server: srv, URL: strings.TrimSuffix(srv.URL(), "/"), ln: cl, logs: logs}
}

// teeHandler sends each record to two handlers, each with its own level.
type teeHandler [2]slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t[0].Enabled(ctx, l) || t[1].Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t[0].WithAttrs(as), t[1].WithAttrs(as)}
}

func (t teeHandler) WithGroup(g string) slog.Handler {
	return teeHandler{t[0].WithGroup(g), t[1].WithGroup(g)}
}
