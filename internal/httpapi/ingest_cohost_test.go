package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestCoHostsManageProgramTokens: a signed-in account that is a co-host
// of the running meeting (as its node keeps it in live_participants)
// lists, makes and revokes its ingest (WHIP) and egress (WHEP) tokens,
// the owner's among them; the list says which the owner made, and the
// audit log names the co-host; the same
// account as a participant, another account, and the co-host once made a
// participant again or gone from the meeting, find no such meeting.
func TestCoHostsManageProgramTokens(t *testing.T) {
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
	signIn := func(email, name string) (*browser, string) {
		if code, body := ada.call("POST", "/api/admin/users", map[string]string{"email": email, "name": name, "password": password}); code != http.StatusCreated {
			t.Fatalf("create %s: %d %v", name, code, body)
		}
		b := newBrowser(t, srv)
		if code, _ := b.call("POST", "/api/auth/signin", map[string]string{"email": email, "password": password}); code != http.StatusOK {
			t.Fatalf("%s signs in", name)
		}
		_, me := b.call("GET", "/api/me", nil)
		u, _ := me["user"].(map[string]any)
		uid, _ := u["id"].(string)
		if uid == "" {
			t.Fatalf("%s's account ID: %v", name, me)
		}
		return b, uid
	}
	bob, bobID := signIn("bob@example.org", "Bob")
	cy, _ := signIn("cy@example.org", "Cy")
	inMeeting := func(pid, userID string, role meeting.Role) {
		t.Helper()
		k := meeting.Kept{Participant: meeting.Participant{ID: meeting.ParticipantID(pid), Name: pid, Role: role, JoinedAt: c.now(),
			Identity: meeting.Identity{UserID: userID}}}
		if err := env.db.SaveKept(t.Context(), meeting.ID(id), k, "run-1"); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(who string, b *browser) {
		t.Helper()
		for _, kind := range []string{"ingest", "egress"} {
			path := "/api/meetings/" + id + "/" + kind
			for _, r := range []struct{ method, path string }{{"GET", path}, {"POST", path}, {"DELETE", path + "/ing_x"}, {"DELETE", path + "/egr_x"}} {
				if code, body := b.call(r.method, r.path, map[string]any{"name": "x"}); code != http.StatusNotFound || errCode(body) != "meeting_not_found" {
					t.Errorf("%s %s %s: %d %v", who, r.method, r.path, code, body)
				}
			}
		}
	}

	// The owner's token, made before anyone else is let near them.
	code, body = ada.call("POST", "/api/meetings/"+id+"/ingest", map[string]any{"name": "Ada's OBS"})
	adaTok, _ := body["id"].(string)
	if code != http.StatusCreated || adaTok == "" {
		t.Fatalf("the owner's token: %d %v", code, body)
	}

	refused("Bob, not in the meeting", bob)
	inMeeting("p-bob", bobID, meeting.RoleParticipant)
	refused("Bob, a participant", bob)

	inMeeting("p-bob", bobID, meeting.RoleCoHost) // the host made him a co-host
	for _, kind := range []string{"ingest", "egress"} {
		path := "/api/meetings/" + id + "/" + kind
		code, body := bob.call("POST", path, map[string]any{"name": "Bob's " + kind})
		tok, _ := body["id"].(string)
		if code != http.StatusCreated || tok == "" || body["token"] == nil {
			t.Fatalf("the co-host makes a %s token: %d %v", kind, code, body)
		}
		code, body = bob.call("GET", path, nil)
		list, _ := body["tokens"].([]any)
		if code != http.StatusOK || len(list) != map[string]int{"ingest": 2, "egress": 1}[kind] {
			t.Fatalf("the co-host lists the %s tokens: %d %v", kind, code, body)
		}
		// Which the owner made, and which a co-host did (whose token
		// outlives the role): what the owner needs to see to revoke them.
		for _, v := range list {
			got := v.(map[string]any)
			if want := got["id"] == adaTok; got["byOwner"] != want {
				t.Errorf("%s token %v: byOwner %v, want %v", kind, got["name"], got["byOwner"], want)
			}
		}
		if code, body := bob.call("DELETE", path+"/"+tok, nil); code != http.StatusNoContent {
			t.Fatalf("the co-host revokes the %s token: %d %v", kind, code, body)
		}
	}
	if code, body := bob.call("DELETE", "/api/meetings/"+id+"/ingest/"+adaTok, nil); code != http.StatusNoContent {
		t.Fatalf("the co-host revokes the owner's token: %d %v", code, body)
	}
	refused("Cy, another account, while Bob is co-host", cy)

	// The audit log names the co-host as the one who made and revoked.
	var byBob int
	entries, _ := env.db.AuditEntries(t.Context(), 0, 100)
	for _, e := range entries {
		if e.SubjectID == id && e.ActorID == bobID && (e.Action == audit.IngestTokenCreated || e.Action == audit.IngestTokenRevoked ||
			e.Action == audit.EgressTokenCreated || e.Action == audit.EgressTokenRevoked) {
			byBob++
		}
	}
	if byBob != 5 {
		t.Errorf("audit entries by the co-host: %d, want 5 (two made, three revoked)", byBob)
	}

	inMeeting("p-bob", bobID, meeting.RoleParticipant) // made a participant again
	refused("Bob, no longer co-host", bob)
	inMeeting("p-bob", bobID, meeting.RoleCoHost)
	if err := env.db.DeleteKept(t.Context(), meeting.ID(id), "p-bob"); err != nil {
		t.Fatal(err)
	}
	refused("Bob, gone from the meeting", bob)
}
