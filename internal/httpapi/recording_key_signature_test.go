package httpapi

import (
	"bytes"
	"net/http"
	"testing"
)

// TestRecordingKeySignature: a browser sets its recording key with its
// signature; the owner, a recorder's suggested readers and a sharer's
// look-up return it as sent; one too long is refused; a key set again
// without a signature comes back without one.
func TestRecordingKeySignature(t *testing.T) {
	srv, _ := newRecordingServer(t, RecordingLimits{})
	ada := newBrowser(t, srv)
	signUp(t, ada, "ada@example.org", "Ada")
	key := bytes.Repeat([]byte{7}, 32)
	sig := append([]byte{1}, bytes.Repeat([]byte{9}, 96)...)
	if code, body := ada.call("PUT", "/api/me/recording-key", map[string]string{"publicKey": b64(key), "signature": b64(bytes.Repeat([]byte{1}, 257))}); code != http.StatusBadRequest {
		t.Fatalf("a 257-byte signature: %d %v", code, body)
	}
	if code, body := ada.call("PUT", "/api/me/recording-key", map[string]string{"publicKey": b64(key), "signature": b64(sig)}); code != http.StatusNoContent {
		t.Fatalf("set signed key: %d %v", code, body)
	}
	if code, body := ada.call("GET", "/api/me/recording-key", nil); code != http.StatusOK || body["signature"] != b64(sig) || body["publicKey"] != b64(key) {
		t.Fatalf("own key: %d %v", code, body)
	}
	if code, body := ada.call("GET", "/api/recording-keys?email=ada@example.org", nil); code != http.StatusOK || body["signature"] != b64(sig) {
		t.Fatalf("key by email: %d %v", code, body)
	}
	_, m := ada.call("POST", "/api/meetings", nil)
	meetingID, _ := m["id"].(string)
	code, body := ada.call("GET", "/api/recordings/readers?meeting="+meetingID, nil)
	readers, _ := body["readers"].([]any)
	if code != http.StatusOK || len(readers) != 1 || readers[0].(map[string]any)["signature"] != b64(sig) {
		t.Fatalf("suggested readers: %d %v", code, body)
	}
	if code, body := ada.call("PUT", "/api/me/recording-key", map[string]string{"publicKey": b64(key)}); code != http.StatusNoContent {
		t.Fatalf("set unsigned key: %d %v", code, body)
	}
	if code, body := ada.call("GET", "/api/me/recording-key", nil); code != http.StatusOK || body["signature"] != nil {
		t.Fatalf("a key set again unsigned: %d %v", code, body)
	}
}
