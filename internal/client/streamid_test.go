package client

import (
	"strings"
	"testing"
)

// TestStreamIDIsAToken: whatever the display name, a track's msid stream
// ID is one token of at most 64 bytes that still ends with the source.
func TestStreamIDIsAToken(t *testing.T) {
	for _, name := range []string{"Pub", "Ada Lovelace", "名前 with\ttabs", strings.Repeat("x y", 40), ""} {
		id := streamID(name, "camera")
		if len(id) == 0 || len(id) > 64 {
			t.Errorf("%q: stream ID %q has %d bytes", name, id, len(id))
		}
		if strings.ContainsAny(id, " \t\r\n:") {
			t.Errorf("%q: stream ID %q is not a token", name, id)
		}
		if !strings.HasSuffix(id, "-camera") {
			t.Errorf("%q: stream ID %q lost its source", name, id)
		}
	}
	if got := streamID("Pub", "camera"); got != "Pub-camera" {
		t.Errorf("a plain name changed: %q", got)
	}
}
