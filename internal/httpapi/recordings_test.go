package httpapi

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// newRecordingServer serves the API with recordings kept in the test
// database and a small size limit.
func newRecordingServer(t *testing.T, limits RecordingLimits) (*httptest.Server, *testEnv) {
	t.Helper()
	env := newTestEnv(t)
	signal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(New(Options{Meetings: env.db, Accounts: env.accounts, Signal: signal, Web: testWeb, Logger: env.log,
		Recordings: env.db, RecordingLimits: limits}))
	t.Cleanup(srv.Close)
	return srv, env
}

// raw sends body as application/octet-stream and returns the status and
// the response body.
func (b *browser) raw(method, path string, body []byte) (int, []byte) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestRecordingsAPI: recording keys are set and read; a recording is
// created only with the recorder among its readers; only the recorder
// uploads its chunks, each within the size limit and the recording
// within its own; finishing needs every chunk; a non-reader can neither
// see the recording, fetch its wrapped key nor a chunk; a reader shares
// it with another account, who then reads it; only the recorder
// deletes, and then nobody reads it; tokens reach none of it.
func TestRecordingsAPI(t *testing.T) {
	srv, _ := newRecordingServer(t, RecordingLimits{MaxChunk: 64, MaxBytes: 100})
	ada, bob, cy := newBrowser(t, srv), newBrowser(t, srv), newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")
	for b, who := range map[*browser]string{bob: "bob", cy: "cy"} {
		email := who + "@example.org"
		if code, body := ada.call("POST", "/api/admin/users", map[string]string{"email": email, "name": who, "password": password}); code != http.StatusCreated {
			t.Fatalf("create %s: %d %v", who, code, body)
		}
		if code, body := b.call("POST", "/api/auth/signin", map[string]string{"email": email, "password": password}); code != http.StatusOK {
			t.Fatalf("sign in %s: %d %v", who, code, body)
		}
	}
	ids := map[*browser]string{}
	for _, b := range []*browser{ada, bob, cy} {
		_, me := b.call("GET", "/api/me", nil)
		user, _ := me["user"].(map[string]any)
		ids[b], _ = user["id"].(string)
		if ids[b] == "" {
			t.Fatalf("/api/me: %v", me)
		}
	}

	if code, body := ada.call("GET", "/api/me/recording-key", nil); code != http.StatusNotFound || errCode(body) != "no_key" {
		t.Fatalf("a key before any was set: %d %v", code, body)
	}
	if code, body := ada.call("PUT", "/api/me/recording-key", map[string]string{"publicKey": b64([]byte("short"))}); code != http.StatusBadRequest {
		t.Fatalf("a 5-byte key: %d %v", code, body)
	}
	keys := map[*browser][]byte{}
	for i, b := range []*browser{ada, bob, cy} {
		keys[b] = bytes.Repeat([]byte{byte(i + 1)}, 32)
		if code, body := b.call("PUT", "/api/me/recording-key", map[string]string{"publicKey": b64(keys[b])}); code != http.StatusNoContent {
			t.Fatalf("set key: %d %v", code, body)
		}
	}
	if code, body := ada.call("GET", "/api/recording-keys?email=bob@example.org", nil); code != http.StatusOK || body["publicKey"] != b64(keys[bob]) || body["account"] != ids[bob] {
		t.Fatalf("bob's key: %d %v", code, body)
	}

	_, m := ada.call("POST", "/api/meetings", nil)
	meetingID, _ := m["id"].(string)
	if code, body := ada.call("GET", "/api/recordings/readers?meeting="+meetingID, nil); code != http.StatusOK || len(body["readers"].([]any)) != 1 {
		t.Fatalf("suggested readers: %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/recordings", map[string]any{"meeting": meetingID, "e2ee": true,
		"readers": []map[string]string{{"account": ids[bob], "wrappedKey": b64([]byte("to bob"))}}}); code != http.StatusBadRequest || errCode(body) != "bad_readers" {
		t.Fatalf("a recording not wrapped for its recorder: %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/recordings", map[string]any{"meeting": "no-such-meeting"}); code != http.StatusNotFound {
		t.Fatalf("a recording of no meeting: %d %v", code, body)
	}
	code, body := ada.call("POST", "/api/recordings", map[string]any{"meeting": meetingID, "e2ee": true})
	rec, _ := body["recording"].(map[string]any)
	id, _ := rec["id"].(string)
	if code != http.StatusCreated || id == "" || rec["mine"] != true {
		t.Fatalf("create: %d %v", code, body)
	}
	// The recorder wraps the key for itself once it knows the ID; bob,
	// neither recorder nor reader, cannot add himself.
	if code, _ := bob.call("POST", "/api/recordings/"+id+"/readers", map[string]string{"account": ids[bob], "wrappedKey": b64([]byte("self-granted"))}); code != http.StatusNotFound {
		t.Fatalf("bob gave himself access: %d", code)
	}
	if code, body := ada.call("POST", "/api/recordings/"+id+"/readers", map[string]string{"account": ids[ada], "wrappedKey": b64([]byte("to ada"))}); code != http.StatusNoContent {
		t.Fatalf("ada wraps for herself: %d %v", code, body)
	}
	chunk := func(n string) string { return "/api/recordings/" + id + "/chunks/" + n }

	if code, _ := bob.raw("PUT", chunk("0"), []byte("bob's bytes")); code != http.StatusNotFound {
		t.Fatalf("bob uploaded to ada's recording: %d", code)
	}
	if code, _ := ada.raw("PUT", chunk("0"), bytes.Repeat([]byte("x"), 65)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a chunk over the limit: %d", code)
	}
	if code, _ := ada.raw("PUT", chunk("-1"), []byte("x")); code != http.StatusBadRequest {
		t.Fatalf("chunk -1: %d", code)
	}
	for n, data := range []string{"chunk zero ciphertext", "chunk one ciphertext"} {
		if code, b := ada.raw("PUT", chunk(string(rune('0'+n))), []byte(data)); code != http.StatusNoContent {
			t.Fatalf("chunk %d: %d %s", n, code, b)
		}
	}
	if code, _ := ada.raw("PUT", chunk("2"), bytes.Repeat([]byte("y"), 64)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a chunk past the recording's limit: %d", code)
	}
	if code, body := ada.call("POST", "/api/recordings/"+id+"/finish", map[string]any{"chunks": 3, "manifest": b64([]byte("m"))}); code != http.StatusConflict || errCode(body) != "chunks_missing" {
		t.Fatalf("finish with a chunk missing: %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/recordings/"+id+"/finish", map[string]any{"chunks": 2, "manifest": b64([]byte("m"))}); code != http.StatusNoContent {
		t.Fatalf("finish: %d %v", code, body)
	}
	if code, _ := ada.raw("PUT", chunk("2"), []byte("late")); code != http.StatusConflict {
		t.Fatalf("a chunk after finishing: %d", code)
	}

	// Bob is no reader: he sees nothing, not even the wrapped key.
	if code, body := bob.call("GET", "/api/recordings/"+id, nil); code != http.StatusNotFound || body["wrappedKey"] != nil {
		t.Fatalf("bob read ada's recording: %d %v", code, body)
	}
	if code, b := bob.raw("GET", chunk("0"), nil); code != http.StatusNotFound || bytes.Contains(b, []byte("ciphertext")) {
		t.Fatalf("bob fetched a chunk: %d %q", code, b)
	}
	if _, body := bob.call("GET", "/api/recordings", nil); len(body["recordings"].([]any)) != 0 {
		t.Fatalf("bob's list: %v", body)
	}
	if code, _ := bob.call("POST", "/api/recordings/"+id+"/readers", map[string]string{"account": ids[bob], "wrappedKey": b64([]byte("self-granted"))}); code != http.StatusNotFound {
		t.Fatalf("bob gave himself access: %d", code)
	}

	code, body = ada.call("GET", "/api/recordings/"+id, nil)
	if code != http.StatusOK || body["wrappedKey"] != b64([]byte("to ada")) || body["manifest"] != b64([]byte("m")) {
		t.Fatalf("ada's recording: %d %v", code, body)
	}
	if code, b := ada.raw("GET", chunk("1"), nil); code != http.StatusOK || string(b) != "chunk one ciphertext" {
		t.Fatalf("chunk 1: %d %q", code, b)
	}

	// Ada shares with bob, who reads it; cy still cannot.
	if code, body := ada.call("POST", "/api/recordings/"+id+"/readers", map[string]string{"account": ids[bob], "wrappedKey": b64([]byte("to bob"))}); code != http.StatusNoContent {
		t.Fatalf("share: %d %v", code, body)
	}
	if code, body := bob.call("GET", "/api/recordings/"+id, nil); code != http.StatusOK || body["wrappedKey"] != b64([]byte("to bob")) {
		t.Fatalf("bob, shared with: %d %v", code, body)
	}
	if code, b := bob.raw("GET", chunk("0"), nil); code != http.StatusOK || string(b) != "chunk zero ciphertext" {
		t.Fatalf("bob's chunk 0: %d %q", code, b)
	}
	if code, _ := cy.call("GET", "/api/recordings/"+id, nil); code != http.StatusNotFound {
		t.Fatalf("cy read it: %d", code)
	}

	// Only the recorder deletes.
	if code, _ := bob.call("DELETE", "/api/recordings/"+id, nil); code != http.StatusNotFound {
		t.Fatalf("bob deleted it: %d", code)
	}
	if code, _ := ada.call("DELETE", "/api/recordings/"+id, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := bob.raw("GET", chunk("0"), nil); code != http.StatusNotFound {
		t.Fatalf("a chunk after deletion: %d", code)
	}
}
