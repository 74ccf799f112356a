package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestServerRecordingsAPI: a recording the server made (internal/
// recorder, stored with kind "server", migration 0018) is listed to the
// account it was made for as kind server, and its chunks are the plain
// file it downloads; nobody else reads it; nothing can be uploaded into
// it, finish it or share it through the API, not even that account (only
// the server writes it); a browser's recording is listed as kind
// browser.
func TestServerRecordingsAPI(t *testing.T) {
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
	_, m := ada.call("POST", "/api/meetings", nil)
	meetingID, _ := m["id"].(string)

	ctx := context.Background()
	rec := store.Recording{ID: store.NewRecordingID(), MeetingID: meetingID, RecorderID: adaID, StartedAt: time.Now(), Kind: store.KindServer}
	if err := env.db.CreateRecording(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	webm := []byte("\x1a\x45\xdf\xa3 plain webm")
	if err := env.db.PutRecordingChunk(ctx, rec.ID, adaID, 0, webm, 1<<20); err != nil {
		t.Fatal(err)
	}
	chunk := "/api/recordings/" + rec.ID + "/chunks/"
	if code, _ := ada.raw("PUT", chunk+"1", []byte("injected")); code != http.StatusConflict {
		t.Fatalf("ada uploaded into the server's recording: %d", code)
	}
	if code, _ := ada.raw("PUT", chunk+"0", []byte("replaced")); code != http.StatusConflict {
		t.Fatalf("ada replaced the server's chunk: %d", code)
	}
	if code, body := ada.call("POST", "/api/recordings/"+rec.ID+"/finish", map[string]any{"chunks": 1, "manifest": b64([]byte("m"))}); code != http.StatusConflict || errCode(body) != "server_recording" {
		t.Fatalf("ada finished the server's recording: %d %v", code, body)
	}
	if err := env.db.FinishRecording(ctx, rec.ID, adaID, 1, []byte(`{"kind":"server"}`), time.Now()); err != nil {
		t.Fatalf("the server's own finish: %v", err)
	}
	if code, b := ada.raw("GET", chunk+"0", nil); code != http.StatusOK || string(b) != string(webm) {
		t.Fatalf("ada's download: %d %q", code, b)
	}
	if code, _ := bob.raw("GET", chunk+"0", nil); code != http.StatusNotFound {
		t.Fatalf("bob read ada's server recording: %d", code)
	}
	if code, _ := ada.call("POST", "/api/recordings/"+rec.ID+"/readers", map[string]string{"account": adaID, "wrappedKey": b64([]byte("k"))}); code != http.StatusConflict {
		t.Fatalf("a server recording shared with a key: %d", code)
	}
	if code, body := ada.call("POST", "/api/recordings", map[string]any{"meeting": meetingID}); code != http.StatusCreated {
		t.Fatalf("a browser recording: %d %v", code, body)
	}
	_, list := ada.call("GET", "/api/recordings", nil)
	kinds := map[string]int{}
	for _, r := range list["recordings"].([]any) {
		r := r.(map[string]any)
		kinds[r["kind"].(string)]++
		if r["kind"] == "server" && (r["id"] != rec.ID || r["finishedAt"] == nil) {
			t.Fatalf("the server recording listed as %v", r)
		}
	}
	if kinds["server"] != 1 || kinds["browser"] != 1 {
		t.Fatalf("listed kinds %v", kinds)
	}
	if code, body := ada.call("GET", "/api/recordings/"+rec.ID, nil); code != http.StatusOK || body["readers"] == nil || body["wrappedKey"] != nil {
		t.Fatalf("ada's server recording: %d %v", code, body)
	}
}
