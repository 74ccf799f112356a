package cluster

import (
	"errors"
	"strings"
	"testing"
)

// TestRelayMessagesAreChecked: a relay message that names no meeting or
// node, has an unknown kind, is not JSON or is larger than a session
// description the SFU accepts is dropped; the five kinds pass.
func TestRelayMessagesAreChecked(t *testing.T) {
	for _, kind := range []string{RelayWant, RelayOffer, RelayAnswer, RelayClosedOut, RelayClosedIn, RelayReady} {
		if _, err := parseRelayMessage([]byte(`{"meeting":"m","from":"eu1","kind":"` + kind + `","sdp":"v=0"}`)); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
	for name, body := range map[string]string{
		"no meeting":   `{"from":"eu1","kind":"want"}`,
		"no node":      `{"meeting":"m","kind":"want"}`,
		"unknown kind": `{"meeting":"m","from":"eu1","kind":"steal"}`,
		"not JSON":     `want m`,
		"too large":    `{"meeting":"m","from":"eu1","kind":"offer","sdp":"` + strings.Repeat("a", maxRelayMessage) + `"}`,
	} {
		if _, err := parseRelayMessage([]byte(body)); !errors.Is(err, ErrBadRelayMessage) {
			t.Errorf("%s: %v, want ErrBadRelayMessage", name, err)
		}
	}
}
