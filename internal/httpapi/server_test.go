package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// memMeetings is an in-memory Meetings for handler tests.
type memMeetings struct {
	mu   sync.Mutex
	ids  map[meeting.ID]bool
	fail bool
}

func (m *memMeetings) CreateMeeting(_ context.Context, rec store.Meeting) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("disk on fire")
	}
	m.ids[rec.ID] = true
	return nil
}

func (m *memMeetings) MeetingExists(_ context.Context, id meeting.ID) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return false, errors.New("disk on fire")
	}
	return m.ids[id], nil
}

var testWeb = fstest.MapFS{
	"index.html":      {Data: []byte("<!doctype html><script type=module src=/assets/app.js></script>")},
	"assets/app.js":   {Data: []byte("console.log('kaigi')")},
	"assets/app.css":  {Data: []byte("body{}")},
	".gitkeep":        {Data: nil},
	"assets/icon.svg": {Data: []byte("<svg/>")},
}

func newTestHandler(t *testing.T, web fstest.MapFS) (http.Handler, *memMeetings) {
	t.Helper()
	mm := &memMeetings{ids: make(map[meeting.ID]bool)}
	signal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	return New(Options{Meetings: mm, Signal: signal, Web: web}), mm
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
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
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

func TestCreateAndGetMeeting(t *testing.T) {
	h, mm := newTestHandler(t, testWeb)
	rec := do(h, "POST", "http://meet.test/api/meetings", map[string]string{"Origin": "http://meet.test", "Sec-Fetch-Site": "same-origin"})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	var m struct{ ID, URL string }
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if _, err := meeting.ParseID(m.ID); err != nil || !mm.ids[meeting.ID(m.ID)] {
		t.Fatalf("created %+v, stored %v", m, mm.ids)
	}
	if m.URL != "http://meet.test/m/"+m.ID {
		t.Errorf("url = %q", m.URL)
	}

	rec = do(h, "GET", "/api/meetings/"+strings.ToUpper(m.ID), nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), m.ID) {
		t.Errorf("get existing = %d %s", rec.Code, rec.Body)
	}
	for _, id := range []string{"0000-0000-0000-0000", "not-an-id", "%2e%2e"} {
		rec = do(h, "GET", "/api/meetings/"+id, nil)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"meeting_not_found"`) {
			t.Errorf("get %s = %d %s", id, rec.Code, rec.Body)
		}
	}
}

func TestCreateMeetingRefusesCrossOrigin(t *testing.T) {
	h, mm := newTestHandler(t, testWeb)
	rec := do(h, "POST", "http://meet.test/api/meetings", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if rec.Code != http.StatusForbidden {
		t.Fatalf("cross-origin create = %d, want 403", rec.Code)
	}
	if len(mm.ids) != 0 {
		t.Fatal("a cross-origin request created a meeting")
	}
}

func TestStorageFailureIsAClearError(t *testing.T) {
	h, mm := newTestHandler(t, testWeb)
	mm.fail = true
	rec := do(h, "POST", "/api/meetings", nil)
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "disk on fire") {
		t.Fatalf("create with failing store = %d %s (must not leak the Go error)", rec.Code, rec.Body)
	}
	rec = do(h, "GET", "/api/meetings/7k3m-q9xd-2hfa-b8rn", nil)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("get with failing store = %d", rec.Code)
	}
}

func TestHealthz(t *testing.T) {
	mm := &memMeetings{ids: map[meeting.ID]bool{}}
	healthy := true
	h := New(Options{Meetings: mm, Signal: http.NotFoundHandler(), Web: testWeb, Health: func(context.Context) error {
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
