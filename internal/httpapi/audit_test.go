package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// TestAuditOverHTTP: an admin sees the verified chain, its head and the
// entries newest first, page by page; a member is refused the log but
// sees the actions on their own account, without the acting admin's ID.
func TestAuditOverHTTP(t *testing.T) {
	srv, _ := newAPIServer(t)
	admin, member := newBrowser(t, srv), newBrowser(t, srv)
	signUp(t, admin, "ada@example.org", "Ada")
	if code, body := admin.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusCreated {
		t.Fatalf("create member = %d %v", code, body)
	}
	_, org := admin.call("GET", "/api/admin/org", nil)
	for i := range 3 {
		org["name"] = fmt.Sprintf("Org %d", i)
		if code, _ := admin.call("PUT", "/api/admin/org", org); code != http.StatusOK {
			t.Fatalf("put org = %d", code)
		}
	}

	code, page := admin.call("GET", "/api/admin/audit", nil)
	if code != http.StatusOK || page["verified"] != true {
		t.Fatalf("audit = %d %v", code, page)
	}
	entries, _ := page["entries"].([]any)
	if len(entries) != 5 {
		t.Fatalf("%d entries, want 5 (first admin, Bob, 3 policy changes): %v", len(entries), entries)
	}
	first := entries[0].(map[string]any)
	if first["seq"] != float64(5) || first["action"] != "org.policy_changed" || first["actorId"] == nil || page["head"] == nil {
		t.Fatalf("newest entry = %v, head %v", first, page["head"])
	}
	if head, _ := page["head"].(string); head[:2] != "5:" || first["hash"] != head[2:] {
		t.Fatalf("head %q does not match the newest entry's hash %v", head, first["hash"])
	}
	code, older := admin.call("GET", "/api/admin/audit?before=3", nil)
	olderEntries, _ := older["entries"].([]any)
	if code != http.StatusOK || len(olderEntries) != 2 || olderEntries[0].(map[string]any)["seq"] != float64(2) {
		t.Fatalf("before=3: %d %v", code, older)
	}
	for _, q := range []string{"?before=0", "?before=x", "?before=-1"} {
		if code, _ := admin.call("GET", "/api/admin/audit"+q, nil); code != http.StatusBadRequest {
			t.Errorf("audit%s = %d, want 400", q, code)
		}
	}

	member.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password})
	if code, _ := member.call("GET", "/api/admin/audit", nil); code != http.StatusForbidden {
		t.Fatalf("a member read the audit log: %d", code)
	}
	code, mine := member.call("GET", "/api/me/audit", nil)
	mineEntries, _ := mine["entries"].([]any)
	if code != http.StatusOK || len(mineEntries) != 1 {
		t.Fatalf("me/audit = %d %v", code, mine)
	}
	e := mineEntries[0].(map[string]any)
	if e["action"] != "user.created" || e["actorKind"] != "user" || e["actorId"] != nil || e["hash"] != nil {
		t.Fatalf("member's entry = %v", e)
	}
	if code, _ := newBrowser(t, srv).call("GET", "/api/me/audit", nil); code != http.StatusUnauthorized {
		t.Errorf("signed out me/audit = %d", code)
	}
}

// TestExportAndTransparency: a member's export holds their account,
// sessions, meetings and the actions on them, and nothing of anyone
// else's (not the admin who created them, not a password hash); the
// public transparency report counts the export and every category, from a
// verified chain, without names, IDs or reasons.
func TestExportAndTransparency(t *testing.T) {
	srv, _ := newAPIServer(t)
	admin, member := newBrowser(t, srv), newBrowser(t, srv)
	signUp(t, admin, "ada@example.org", "Ada")
	_, me := admin.call("GET", "/api/me", nil)
	adaID := me["user"].(map[string]any)["id"].(string)
	if code, _ := admin.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusCreated {
		t.Fatal("create Bob")
	}
	member.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password})
	if code, _ := member.call("POST", "/api/meetings", map[string]any{"title": "Bob's planning"}); code != http.StatusCreated {
		t.Fatalf("create meeting: %d", code)
	}
	admin.call("POST", "/api/meetings", map[string]any{"title": "Ada's secret board"})

	req, _ := http.NewRequest("GET", srv.URL+"/api/me/export", nil)
	resp, err := member.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	var ex struct {
		Account  struct{ Email string }
		Sessions []map[string]any
		Meetings []struct{ Title string }
		Audit    []struct{ Action string }
	}
	if err := json.Unmarshal(raw, &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Account.Email != "bob@example.org" || len(ex.Sessions) != 1 || len(ex.Audit) != 1 || ex.Audit[0].Action != "user.created" {
		t.Fatalf("export: %s", body)
	}
	titles := ""
	for _, m := range ex.Meetings {
		titles += m.Title + ";"
	}
	if !strings.Contains(titles, "Bob's planning") {
		t.Fatalf("Bob's meetings missing: %s", titles)
	}
	for _, other := range []string{"ada@example.org", adaID, "Ada's secret board", "$argon2id$"} {
		if strings.Contains(body, other) {
			t.Errorf("the export holds %q", other)
		}
	}
	if code, _ := newBrowser(t, srv).call("GET", "/api/me/export", nil); code != http.StatusUnauthorized {
		t.Errorf("signed-out export: %d", code)
	}

	code, rep := newBrowser(t, srv).call("GET", "/api/transparency", nil)
	if code != http.StatusOK || rep["verified"] != true || rep["head"] == nil {
		t.Fatalf("transparency: %d %v", code, rep)
	}
	totals := map[string]float64{}
	for _, c := range rep["categories"].([]any) {
		cat := c.(map[string]any)
		totals[cat["action"].(string)] = cat["total"].(float64)
	}
	if len(totals) != len(audit.Published) || totals["user.exported"] != 1 || totals["user.created"] != 2 || totals["meeting.ended"] != 0 {
		t.Fatalf("categories: %v", totals)
	}
	repRaw, _ := json.Marshal(rep)
	for _, private := range []string{"bob@example.org", adaID, "first account"} {
		if strings.Contains(string(repRaw), private) {
			t.Errorf("the public report holds %q", private)
		}
	}
}

// stalledWriter is a client that stops reading: its first Write blocks
// until release is closed.
type stalledWriter struct {
	header           http.Header
	writing, release chan struct{}
}

func (s *stalledWriter) Header() http.Header { return s.header }
func (s *stalledWriter) WriteHeader(int)     {}
func (s *stalledWriter) Write(b []byte) (int, error) {
	close(s.writing)
	<-s.release
	return len(b), nil
}

// TestTransparencyStalledClient: a client that stops reading the public
// transparency report does not hold up anyone else's request for it.
func TestTransparencyStalledClient(t *testing.T) {
	h, _ := newTestHandler(t, testWeb)
	stalled := &stalledWriter{header: http.Header{}, writing: make(chan struct{}), release: make(chan struct{})}
	first := make(chan struct{})
	go func() {
		defer close(first)
		h.ServeHTTP(stalled, httptest.NewRequest("GET", "/api/transparency", nil))
	}()
	defer func() { close(stalled.release); <-first }()
	<-stalled.writing

	done := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/transparency", nil))
		done <- rec
	}()
	select {
	case rec := <-done:
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"categories"`) {
			t.Fatalf("second request: %d %s", rec.Code, rec.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second request waited 10 s behind a client that stopped reading")
	}
}
