package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestServerRecordingOtherAccount (attacker's review, session
// 21): another account of the organisation, knowing a server
// recording's ID, cannot get it, list it, read a chunk, share it (409 or
// 404, never a reader added), or delete it; its owner still can.
func TestServerRecordingOtherAccount(t *testing.T) {
	srv, env := newRecordingServer(t, RecordingLimits{})
	ada, bob := newBrowser(t, srv), newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")
	if code, body := ada.call("POST", "/api/admin/users", map[string]string{"email": "bob@example.org", "name": "Bob", "password": password}); code != http.StatusCreated {
		t.Fatalf("create bob: %d %v", code, body)
	}
	if code, body := bob.call("POST", "/api/auth/signin", map[string]string{"email": "bob@example.org", "password": password}); code != http.StatusOK {
		t.Fatalf("sign in bob: %d %v", code, body)
	}
	_, me := ada.call("GET", "/api/me", nil)
	user, _ := me["user"].(map[string]any)
	adaID, _ := user["id"].(string)
	_, me = bob.call("GET", "/api/me", nil)
	user, _ = me["user"].(map[string]any)
	bobID, _ := user["id"].(string)
	_, m := ada.call("POST", "/api/meetings", nil)
	meetingID, _ := m["id"].(string)

	ctx := context.Background()
	rec := store.Recording{ID: store.NewRecordingID(), MeetingID: meetingID, RecorderID: adaID, StartedAt: time.Now(), Kind: store.KindServer}
	if err := env.db.CreateRecording(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	if err := env.db.PutRecordingChunk(ctx, rec.ID, adaID, 0, []byte("\x1a\x45\xdf\xa3 plain"), 1<<20); err != nil {
		t.Fatal(err)
	}
	base := "/api/recordings/" + rec.ID
	if code, _ := bob.call("GET", base, nil); code != http.StatusNotFound {
		t.Fatalf("bob got ada's server recording: %d", code)
	}
	if code, _ := bob.call("POST", base+"/readers", map[string]string{"account": bobID, "wrappedKey": b64([]byte("k"))}); code != http.StatusNotFound && code != http.StatusConflict {
		t.Fatalf("bob shared ada's server recording with himself: %d", code)
	}
	if rs, _ := env.db.RecordingReaders(ctx, rec.ID); len(rs) != 0 {
		t.Fatalf("readers added: %v", rs)
	}
	if code, _ := bob.call("DELETE", base, nil); code != http.StatusNotFound {
		t.Fatalf("bob deleted ada's server recording: %d", code)
	}
	_, list := bob.call("GET", "/api/recordings", nil)
	if rs, _ := list["recordings"].([]any); len(rs) != 0 {
		t.Fatalf("bob's list: %v", rs)
	}
	if _, err := env.db.RecordingByID(ctx, rec.ID); err != nil {
		t.Fatalf("the recording after bob's tries: %v", err)
	}
	if code, _ := ada.call("DELETE", base, nil); code != http.StatusNoContent {
		t.Fatalf("ada could not delete her server recording: %d", code)
	}
}
