package signal

import (
	"errors"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestDecodeRecord: a record message either names a browser's recording
// (on with its ID, off without), or asks the server to record (server,
// on, no ID); a server record that is off or names an ID is refused
// before any room sees it.
func TestDecodeRecord(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{`{"type":"record","on":true,"recording":"rec_8Hx2cQmJ4nT0pV7aLw3sYb"}`, true},
		{`{"type":"record","on":false,"recording":""}`, true},
		{`{"type":"record","on":true,"recording":"","server":true}`, true},
		{`{"type":"record","on":true,"recording":""}`, false},
		{`{"type":"record","on":false,"recording":"rec_8Hx2cQmJ4nT0pV7aLw3sYb"}`, false},
		{`{"type":"record","on":false,"recording":"","server":true}`, false},
		{`{"type":"record","on":true,"recording":"rec_8Hx2cQmJ4nT0pV7aLw3sYb","server":true}`, false},
	} {
		_, err := decodeClientMessage([]byte(tt.in))
		var pe *protocolError
		if tt.ok && err != nil {
			t.Errorf("decode(%s) = %v, want valid", tt.in, err)
		}
		if !tt.ok && (!errors.As(err, &pe) || pe.code != wire.CodeBadMessage) {
			t.Errorf("decode(%s) = %v, want bad_message", tt.in, err)
		}
	}
}
