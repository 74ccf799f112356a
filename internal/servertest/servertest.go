// Package servertest starts a complete Kaigi server on 127.0.0.1 for tests
// in other packages: the pion integration tests and the browser tests.
package servertest

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

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
	URL string
	ln  *cuttableListener
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

// Start starts a server with a fresh data directory and stops it when the
// test ends. Set KAIGI_TEST_DEBUG=1 to see its debug logs.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	level := slog.LevelWarn
	if os.Getenv("KAIGI_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	web := opts.Web
	if web == nil {
		web = fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>test</title>")}}
	}
	cl := &cuttableListener{conns: make(map[net.Conn]struct{})}
	wrap := func(ln net.Listener) net.Listener { cl.Listener = ln; return cl }
	srv, err := server.New(context.Background(), cfg, server.Options{Logger: log, Web: web, SignalOptions: opts.Signal, WrapListener: wrap})
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
	return &Server{Server: srv, URL: strings.TrimSuffix(srv.URL(), "/"), ln: cl}
}

// NewMeeting creates a meeting through the HTTP API and returns its ID.
func (s *Server) NewMeeting(t testing.TB) string {
	t.Helper()
	resp, err := http.Post(s.URL+"/api/meetings", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("create meeting: %s %s", resp.Status, b)
	}
	var m struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m.ID
}
