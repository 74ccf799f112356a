package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestAdmissionCheck: GET /api/meetings/{id}/admission says whether a ban
// keeps the asking browser, account or (for a guest) network out, and
// nothing else; the owner is never banned; it is rate-limited like
// meeting look-ups.
func TestAdmissionCheck(t *testing.T) {
	srv, env := newAPIServer(t)
	owner, member, guest := newBrowser(t, srv), newBrowser(t, srv), newBrowser(t, srv)
	signUp(t, owner, "ada@example.org", "Ada")
	if code, body := owner.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusCreated {
		t.Fatalf("create member = %d %v", code, body)
	}
	_, me := member.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password})
	bob, _ := me["user"].(map[string]any)["id"].(string)
	code, m := owner.call("POST", "/api/meetings", nil)
	if code != http.StatusCreated {
		t.Fatalf("create meeting = %d %v", code, m)
	}
	id := m["id"].(string)
	path := "/api/meetings/" + id + "/admission"

	ask := func(b *browser, device string) map[string]any {
		t.Helper()
		code, body := b.call("GET", path+"?device="+device, nil)
		if code != http.StatusOK {
			t.Fatalf("admission = %d %v", code, body)
		}
		if len(body) != 1 {
			t.Fatalf("admission says more than whether one is banned: %v", body)
		}
		return body
	}
	for _, b := range []*browser{owner, member, guest} {
		if got := ask(b, "d-1"); got["banned"] != false {
			t.Fatalf("nobody is banned yet, but admission = %v", got)
		}
	}

	ctx := context.Background()
	ban := func(kind meeting.BanKind, value string) {
		t.Helper()
		if err := env.db.AddBans(ctx, meeting.ID(id), []meeting.Ban{{Kind: kind, Value: value}}); err != nil {
			t.Fatal(err)
		}
	}
	ban(meeting.BanDevice, "d-banned")
	if got := ask(guest, "d-banned"); got["banned"] != true {
		t.Fatalf("a banned browser: admission = %v", got)
	}
	if got := ask(guest, "d-other"); got["banned"] != false {
		t.Fatalf("another browser: admission = %v", got)
	}
	ban(meeting.BanUser, bob)
	if got := ask(member, "d-other"); got["banned"] != true {
		t.Fatalf("a banned account: admission = %v", got)
	}
	if got := ask(guest, "d-other"); got["banned"] != false {
		t.Fatalf("a guest on the banned account's network: admission = %v", got)
	}
	// The test's browsers all come from 127.0.0.1: a ban of that network
	// keeps guests out, not accounts (they wait for a host), never the owner.
	ban(meeting.BanAddress, "127.0.0.1")
	if got := ask(guest, "d-other"); got["banned"] != true {
		t.Fatalf("a guest from a banned network: admission = %v", got)
	}
	if got := ask(owner, "d-banned"); got["banned"] != false {
		t.Fatalf("the owner, on a banned browser and network: admission = %v", got)
	}

	if code, body := guest.call("GET", "/api/meetings/0000-0000-0000-0000/admission?device=d", nil); code != http.StatusNotFound || errCode(body) != "meeting_not_found" {
		t.Fatalf("an unknown meeting: %d %v", code, body)
	}
	if code, _ := guest.call("GET", path+"?device="+strings.Repeat("a", 65), nil); code != http.StatusBadRequest {
		t.Fatalf("a 65-character device ID: %d, want 400", code)
	}
	var last int
	for range 40 {
		last, _ = guest.call("GET", path+"?device=d", nil)
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("the 40th check in a row = %d, want 429", last)
	}
}
