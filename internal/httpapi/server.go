package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Options are what the HTTP surface is built from.
type Options struct {
	Meetings Meetings
	// Signal serves the signalling WebSocket at /ws.
	Signal http.Handler
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
	// Web is the built web client (index.html, assets/...).
	Web fs.FS
	// Health reports whether the server can serve (e.g. the database
	// answers).
	Health func(ctx context.Context) error
	// PublicURL, if set, is the origin used in links we hand out.
	PublicURL string
	// TLS says the server is served over HTTPS (adds HSTS).
	TLS    bool
	Logger *slog.Logger
}

// New returns the server's root handler.
func New(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	a := &api{meetings: opts.Meetings, publicURL: strings.TrimSuffix(opts.PublicURL, "/"), log: log, now: time.Now}

	mux := http.NewServeMux()
	wc, err := loadWebClient(opts.Web)
	if err != nil {
		log.Error("web client unavailable", "err", err)
		mux.HandleFunc("GET /{$}", missingClient)
		mux.HandleFunc("GET /m/{id}", missingClient)
	} else {
		mux.HandleFunc("GET /{$}", wc.index)
		mux.HandleFunc("GET /m/{id}", wc.index)
		mux.HandleFunc("GET /assets/", wc.assets)
	}

	// State-changing API calls must come from our own pages.
	csrf := http.NewCrossOriginProtection()
	mux.Handle("POST /api/meetings", csrf.Handler(http.HandlerFunc(a.createMeeting)))
	mux.HandleFunc("GET /api/meetings/{id}", a.getMeeting)

	mux.Handle("GET /ws", opts.Signal)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if opts.Health != nil {
			if err := opts.Health(ctx); err != nil {
				log.Error("health check failed", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("unhealthy\n"))
				return
			}
		}
		w.Write([]byte("ok\n"))
	})
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	return securityHeaders(opts.TLS, logRequests(log, mux))
}

// logRequests logs each request at debug level: method, path, status and
// duration. Query strings are left out; they may carry secrets one day.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start), "remote", r.RemoteAddr)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and the WebSocket upgrade) reach the
// underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
