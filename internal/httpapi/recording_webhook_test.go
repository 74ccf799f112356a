package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/webhook"
)

// TestRecordingReadyWebhook: finishing a recording sends recording.ready,
// signed, to a receiver on loopback that subscribed to it: the recording's
// ID, its meeting, its chunk count and stored size, and nothing else (no
// key, no manifest, no chunk, no account); a finish the server refuses
// (a chunk missing) sends nothing.
func TestRecordingReadyWebhook(t *testing.T) {
	type got struct {
		sig, event string
		body       []byte
	}
	deliveries := make(chan got, 8)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		deliveries <- got{r.Header.Get(webhook.SignatureHeader), r.Header.Get("Kaigi-Event"), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	env := newTestEnv(t)
	hooks := webhook.New(webhook.Options{Store: env.db, Logger: env.log, AllowLoopback: true, Poll: 10 * time.Millisecond, Timeout: 5 * time.Second})
	go hooks.Run()
	defer hooks.Close()
	hook, secret, err := hooks.Register(context.Background(), "admin", rcv.URL+"/kaigi", []string{webhook.RecordingReady})
	if err != nil {
		t.Fatal(err)
	}
	signal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(New(Options{Meetings: env.db, Accounts: env.accounts, Signal: signal, Web: testWeb, Logger: env.log,
		Recordings: env.db, Webhooks: hooks}))
	defer srv.Close()

	ada := newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")
	_, m := ada.call("POST", "/api/meetings", nil)
	meetingID, _ := m["id"].(string)
	wrapped := "wrapped content key for ada"
	code, body := ada.call("POST", "/api/recordings", map[string]any{"meeting": meetingID, "e2ee": true})
	rec, _ := body["recording"].(map[string]any)
	id, _ := rec["id"].(string)
	if code != http.StatusCreated || id == "" {
		t.Fatalf("create: %d %v", code, body)
	}
	_, me := ada.call("GET", "/api/me", nil)
	user, _ := me["user"].(map[string]any)
	account, _ := user["id"].(string)
	if code, body := ada.call("PUT", "/api/me/recording-key", map[string]string{"publicKey": b64([]byte(strings.Repeat("k", 32)))}); code != http.StatusNoContent {
		t.Fatalf("set key: %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/recordings/"+id+"/readers", map[string]string{"account": account, "wrappedKey": b64([]byte(wrapped))}); code != http.StatusNoContent && code != http.StatusCreated {
		t.Fatalf("wrap for ada: %d %v", code, body)
	}
	chunks := []string{"sealed chunk zero", "sealed chunk one, a little longer"}
	size := 0
	for n, data := range chunks {
		size += len(data)
		if code, b := ada.raw("PUT", "/api/recordings/"+id+"/chunks/"+string(rune('0'+n)), []byte(data)); code != http.StatusNoContent {
			t.Fatalf("chunk %d: %d %s", n, code, b)
		}
	}
	manifest := "sealed manifest"
	if code, body := ada.call("POST", "/api/recordings/"+id+"/finish", map[string]any{"chunks": 3, "manifest": b64([]byte(manifest))}); code != http.StatusConflict {
		t.Fatalf("finish with a chunk missing: %d %v", code, body)
	}
	if code, body := ada.call("POST", "/api/recordings/"+id+"/finish", map[string]any{"chunks": 2, "manifest": b64([]byte(manifest))}); code != http.StatusNoContent {
		t.Fatalf("finish: %d %v", code, body)
	}

	var d got
	select {
	case d = <-deliveries:
	case <-time.After(20 * time.Second):
		t.Fatal("no recording.ready delivery")
	}
	if err := webhook.Verify([]byte(secret), d.sig, d.body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if d.event != webhook.RecordingReady {
		t.Fatalf("Kaigi-Event %q", d.event)
	}
	var fields map[string]any
	if err := json.Unmarshal(d.body, &fields); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"bytes", "chunks", "id", "meeting", "recording", "time", "type"}; !slices.Equal(keys, want) {
		t.Fatalf("fields %v, want %v: %s", keys, want, d.body)
	}
	if fields["type"] != webhook.RecordingReady || fields["recording"] != id || fields["meeting"] != meetingID || fields["chunks"] != float64(2) || fields["bytes"] != float64(size) {
		t.Fatalf("body %s: want recording %s of meeting %s, 2 chunks, %d bytes", d.body, id, meetingID, size)
	}
	for _, secretish := range []string{wrapped, b64([]byte(wrapped)), manifest, b64([]byte(manifest)), chunks[0], account, "Ada", "ada@example.org"} {
		if strings.Contains(string(d.body), secretish) {
			t.Fatalf("the event carries %q: %s", secretish, d.body)
		}
	}
	// One event in all: the refused finish made none (it was queued first).
	log, err := hooks.Log(context.Background(), hook.ID)
	if err != nil || len(log) != 1 {
		t.Fatalf("deliveries logged: %d (%v), want 1", len(log), err)
	}
}
