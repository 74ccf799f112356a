package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

// fakeWHIP is the WHIP handler as the token routes see it.
type fakeWHIP struct {
	mu    sync.Mutex
	ended []string
}

func (f *fakeWHIP) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusTeapot)
}
func (f *fakeWHIP) EndToken(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, id)
}

// TestIngestTokens: a meeting's owner makes (shown once), lists and
// revokes its ingest tokens (both in the audit log, never the token), and
// revoking ends the token's session; to another account the meeting does
// not exist; an API token cannot reach these routes, and a session that
// has not re-authenticated recently cannot mint one; /whip/ goes to the
// WHIP handler.
func TestIngestTokens(t *testing.T) {
	c := &fakeClock{t: time.Now().UTC()}
	env := newTestEnvAt(t, c.now)
	whip := &fakeWHIP{}
	srv := httptest.NewServer(New(Options{Meetings: env.db, Accounts: env.accounts, Tokens: env.db, Now: c.now, Signal: http.NotFoundHandler(),
		Web: testWeb, Logger: env.log, Ingest: Ingest{Tokens: env.db, WHIP: whip}}))
	t.Cleanup(srv.Close)
	ada := newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")
	code, body := ada.call("POST", "/api/meetings", map[string]any{})
	if code != http.StatusCreated {
		t.Fatalf("create meeting: %d %v", code, body)
	}
	id := body["id"].(string)
	path := "/api/meetings/" + id + "/ingest"

	code, body = ada.call("POST", path, map[string]any{"name": "OBS"})
	token, _ := body["token"].(string)
	tokID, _ := body["id"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(token, "kaigi_whip_") || len(token) != len("kaigi_whip_")+43 || body["url"] != srv.URL+"/whip/"+id || body["name"] != "OBS" {
		t.Fatalf("create: %d %v", code, body)
	}
	code, body = ada.call("GET", path, nil)
	list, _ := body["tokens"].([]any)
	if code != http.StatusOK || len(list) != 1 || body["allowed"] != false {
		t.Fatalf("list: %d %v (an E2EE meeting by default: not allowed)", code, body)
	}
	if got := list[0].(map[string]any); got["id"] != tokID || got["token"] != nil {
		t.Fatalf("listed %v: the token must not be shown again", got)
	}
	if code, body := ada.call("POST", path, map[string]any{"name": ""}); code != http.StatusBadRequest || errCode(body) != "bad_name" {
		t.Fatalf("an empty name: %d %v", code, body)
	}

	// Another account: no such meeting.
	if code, body := ada.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusCreated {
		t.Fatalf("create Bob: %d %v", code, body)
	}
	bob := newBrowser(t, srv)
	if code, _ := bob.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password}); code != http.StatusOK {
		t.Fatal("Bob signs in")
	}
	for _, r := range []struct{ method, path string }{{"GET", path}, {"POST", path}, {"DELETE", path + "/" + tokID}} {
		if code, body := bob.call(r.method, r.path, map[string]any{"name": "x"}); code != http.StatusNotFound || errCode(body) != "meeting_not_found" {
			t.Errorf("Bob %s %s: %d %v", r.method, r.path, code, body)
		}
	}

	// An API token with every scope it may have cannot make one.
	_, secret := makeToken(t, ada, "/api/me/tokens", []string{"meetings:read", "meetings:write"}, 0)
	if code, body := program(t, srv).call("POST", path, map[string]any{"name": "x"}, bearer(secret)...); code != http.StatusForbidden || errCode(body) != "token_not_allowed" {
		t.Fatalf("an API token: %d %v", code, body)
	}
	// A session past its re-authentication window cannot either.
	c.advance(auth.ReauthWindow + time.Second)
	if code, body := ada.call("POST", path, map[string]any{"name": "x"}); code != http.StatusForbidden || errCode(body) != "reauth_required" {
		t.Fatalf("a stale session: %d %v", code, body)
	}

	// Revoking ends the token's session.
	if code, body := ada.call("DELETE", path+"/"+tokID, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d %v", code, body)
	}
	if code, body := ada.call("DELETE", path+"/"+tokID, nil); code != http.StatusNotFound || errCode(body) != "token_not_found" {
		t.Fatalf("revoke again: %d %v", code, body)
	}
	whip.mu.Lock()
	ended := append([]string(nil), whip.ended...)
	whip.mu.Unlock()
	if len(ended) != 1 || ended[0] != tokID {
		t.Fatalf("sessions ended: %v", ended)
	}
	if code, body := ada.call("GET", path, nil); code != http.StatusOK || len(body["tokens"].([]any)) != 0 {
		t.Fatalf("list after revoking: %d %v", code, body)
	}
	// The audit log has both, with the meeting as subject, never the token.
	var created, revoked int
	entries, _ := env.db.AuditEntries(t.Context(), 0, 100)
	for _, e := range entries {
		if e.Details["id"] == tokID && e.SubjectID == id {
			switch e.Action {
			case audit.IngestTokenCreated:
				created++
			case audit.IngestTokenRevoked:
				revoked++
			}
		}
		for _, v := range e.Details {
			if strings.Contains(v, strings.TrimPrefix(token, "kaigi_whip_")) {
				t.Errorf("the audit log holds the token: %+v", e)
			}
		}
	}
	if created != 1 || revoked != 1 {
		t.Errorf("audit: %d created, %d revoked", created, revoked)
	}
	if code, _ := program(t, srv).call("POST", "/whip/"+id, nil); code != http.StatusTeapot {
		t.Fatalf("/whip/ is not the WHIP handler's: %d", code)
	}
}
