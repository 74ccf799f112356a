package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/store"
)

var testWeb = fstest.MapFS{
	"index.html":      {Data: []byte("<!doctype html><script type=module src=/assets/app.js></script>")},
	"assets/app.js":   {Data: []byte("console.log('kaigi')")},
	"assets/app.css":  {Data: []byte("body{}")},
	".gitkeep":        {Data: nil},
	"assets/icon.svg": {Data: []byte("<svg/>")},
}

type testEnv struct {
	db       *store.SQLite
	accounts *auth.Service
	log      *slog.Logger
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvAt(t, nil)
}

// newTestEnvAt is newTestEnv with the accounts' clock (nil: the real one).
func newTestEnvAt(t *testing.T, now func() time.Time) *testEnv {
	t.Helper()
	sealer, _ := auth.NewSealer(make([]byte, 32))
	db, err := store.OpenSQLite(context.Background(), t.TempDir(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	accounts := auth.NewService(auth.Options{Store: db, Sealer: sealer, Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: quiet, Now: now})
	return &testEnv{db: db, accounts: accounts, log: quiet}
}

func newTestHandler(t *testing.T, web fstest.MapFS) (http.Handler, *testEnv) {
	t.Helper()
	env := newTestEnv(t)
	signal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	return New(Options{Meetings: env.db, Accounts: env.accounts, Signal: signal, Web: web, Logger: env.log}), env
}

func do(h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h, _ := newTestHandler(t, testWeb)
	for _, path := range []string{"/", "/m/7k3m-q9xd-2hfa-b8rn", "/assets/app.js", "/api/meetings/nope", "/healthz", "/no/such/page"} {
		rec := do(h, "GET", path, nil)
		csp := rec.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self' 'wasm-unsafe-eval';", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		// WebAssembly may be compiled (background blur's model); nothing
		// else unsafe: no eval, no inline script or style.
		if strings.Contains(strings.ReplaceAll(csp, "'wasm-unsafe-eval'", ""), "unsafe") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
			t.Errorf("%s: CSP allows more than this origin: %q", path, csp)
		}
		for k, v := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "DENY",
		} {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
}

func TestWebClientRoutes(t *testing.T) {
	h, _ := newTestHandler(t, testWeb)
	for path, want := range map[string]string{
		"/":                      "<!doctype html>",
		"/m/7k3m-q9xd-2hfa-b8rn": "<!doctype html>",
		"/assets/app.js":         "console.log",
		"/assets/app.css":        "body{}",
		"/assets/../index.html":  "",
		"/.gitkeep":              "",
		"/assets/missing.js":     "",
	} {
		rec := do(h, "GET", path, nil)
		if want == "" {
			if rec.Code == http.StatusOK {
				t.Errorf("GET %s = 200, want not found", path)
			}
			continue
		}
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s = %d %q", path, rec.Code, rec.Body.String())
		}
	}
	rec := do(h, "GET", "/assets/app.js", nil)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("app.js Content-Type = %q", ct)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("app.js caching headers: ETag %q, Cache-Control %q", etag, rec.Header().Get("Cache-Control"))
	}
	if rec := do(h, "GET", "/assets/app.js", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified {
		t.Errorf("revalidation = %d, want 304", rec.Code)
	}
}

func TestMissingClientSaysHowToBuild(t *testing.T) {
	h, _ := newTestHandler(t, fstest.MapFS{".gitkeep": {}})
	rec := do(h, "GET", "/", nil)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "make web") {
		t.Fatalf("GET / without a built client = %d %q", rec.Code, rec.Body.String())
	}
}

func TestHealthz(t *testing.T) {
	env := newTestEnv(t)
	healthy := true
	h := New(Options{Meetings: env.db, Accounts: env.accounts, Signal: http.NotFoundHandler(), Web: testWeb, Logger: env.log, Health: func(context.Context) error {
		if healthy {
			return nil
		}
		return errors.New("db gone")
	}})
	if rec := do(h, "GET", "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("healthy = %d", rec.Code)
	}
	healthy = false
	if rec := do(h, "GET", "/healthz", nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("unhealthy = %d", rec.Code)
	}
}

func TestMetricsNeedAToken(t *testing.T) {
	env := newTestEnv(t)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("kaigi_meetings 0\n")) })
	base := Options{Meetings: env.db, Accounts: env.accounts, Signal: http.NotFoundHandler(), Web: testWeb, Logger: env.log, Metrics: metrics}

	if rec := do(New(base), "GET", "/metrics", nil); rec.Code != http.StatusNotFound {
		t.Errorf("without a configured token, GET /metrics = %d, want 404", rec.Code)
	}

	withToken := base
	withToken.MetricsToken = "0123456789abcdef-token"
	h := New(withToken)
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer 0123456789abcdef", "Basic MDEyMzQ1Njc4OWFiY2RlZi10b2tlbg=="} {
		hdr := map[string]string{}
		if auth != "" {
			hdr["Authorization"] = auth
		}
		rec := do(h, "GET", "/metrics", hdr)
		if rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "kaigi_") {
			t.Errorf("Authorization %q: GET /metrics = %d %q, want 401", auth, rec.Code, rec.Body.String())
		}
	}
	for _, auth := range []string{"Bearer 0123456789abcdef-token", "bearer 0123456789abcdef-token"} {
		rec := do(h, "GET", "/metrics", map[string]string{"Authorization": auth})
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "kaigi_meetings") {
			t.Errorf("Authorization %q: GET /metrics = %d %q", auth, rec.Code, rec.Body.String())
		}
	}
}
