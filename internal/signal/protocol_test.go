package signal

import (
	"errors"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/wire"
)

func TestDecodeClientMessage(t *testing.T) {
	tests := []struct {
		in       string
		wantType string
		wantCode string // "" means valid
	}{
		{`{"type":"hello","v":1,"meeting":"7k3m-q9xd-2hfa-b8rn","name":"Ada"}`, "hello", ""},
		{`{"type":"hello","client":"` + strings.Repeat("x", 65) + `"}`, "hello", wire.CodeBadMessage},
		{`{"type":"offer","sdp":"v=0","tracks":[{"mid":"0","source":"camera"}]}`, "offer", ""},
		{`{"type":"offer","tracks":[]}`, "offer", wire.CodeBadMessage},
		{`{"type":"offer","sdp":"v=0","tracks":[` + strings.Repeat(`{"mid":"0","source":"camera"},`, 8) + `{"mid":"1","source":"camera"}]}`, "offer", wire.CodeBadTracks},
		{`{"type":"answer","sdp":"v=0"}`, "answer", ""},
		{`{"type":"answer"}`, "answer", wire.CodeBadMessage},
		{`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}}`, "candidate", ""},
		{`{"type":"candidate"}`, "candidate", wire.CodeBadMessage},
		{`{"type":"media","audio":true}`, "media", ""},
		{`{"type":"ready","id":7}`, "ready", ""},
		{`{"type":"ping"}`, "ping", ""},
		{`{"type":"leave"}`, "leave", ""},
		{`{"type":"video_size","participant":"p1","source":"camera","width":640,"height":360}`, "video_size", ""},
		{`{"type":"video_size","participant":"p1","source":"screen","width":0,"height":0}`, "video_size", ""},
		{`{"type":"video_size","source":"camera","width":640,"height":360}`, "video_size", wire.CodeBadMessage},
		{`{"type":"video_size","participant":"p1","source":"microphone","width":640,"height":360}`, "video_size", wire.CodeBadMessage},
		{`{"type":"video_size","participant":"p1","source":"camera","width":640}`, "video_size", wire.CodeBadMessage},
		{`{"type":"video_size","participant":"p1","source":"camera","width":-1,"height":360}`, "video_size", wire.CodeBadMessage},
		{`{"type":"video_size","participant":"p1","source":"camera","width":16385,"height":360}`, "video_size", wire.CodeBadMessage},
		{`{"type":"video_size","participant":"p1","source":"camera","width":0,"height":360}`, "video_size", wire.CodeBadMessage},
		{`{"type":"video_size","participant":"p1","source":"camera","width":"wide","height":360}`, "", wire.CodeBadMessage},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI="}`, "e2ee_commit", ""},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","welcome":"AwQ="}`, "e2ee_commit", ""},
		{`{"type":"e2ee_commit","epoch":3}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"update"}`, "e2ee_commit", ""},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"recording"}`, "e2ee_commit", ""},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"recording","remove":["p1"]}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"remove","remove":["p1","p2"]}`, "e2ee_commit", ""},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"remove"}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"update","remove":["p1"]}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","remove":["p1"]}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"rekey"}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"remove","remove":["p1",""]}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"remove","remove":["` + strings.Repeat("p", 65) + `"]}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"remove","remove":"p1"}`, "", wire.CodeBadMessage},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","welcome":"AwQ=","skipped":["p1"]}`, "e2ee_commit", ""},
		{`{"type":"e2ee_commit","epoch":3,"skipped":["p1"]}`, "e2ee_commit", ""},
		{`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"update","skipped":["p1"]}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"e2ee_commit","epoch":3,"skipped":[""]}`, "e2ee_commit", wire.CodeE2EEBad},
		{`{"type":"launch_missiles"}`, "launch_missiles", wire.CodeUnknownType},
		{`{}`, "", wire.CodeBadMessage},
		{`{"type":5}`, "", wire.CodeBadMessage},
		{`{"type":"media","audio":"yes"}`, "", wire.CodeBadMessage},
		{`not json`, "", wire.CodeBadMessage},
		{`[]`, "", wire.CodeBadMessage},
	}
	for _, tt := range tests {
		m, err := decodeClientMessage([]byte(tt.in))
		var pe *protocolError
		switch {
		case tt.wantCode == "" && err != nil:
			t.Errorf("decode(%s) = %v, want valid", tt.in, err)
		case tt.wantCode != "" && (!errors.As(err, &pe) || pe.code != tt.wantCode):
			t.Errorf("decode(%s) = %v, want code %s", tt.in, err, tt.wantCode)
		}
		if tt.wantType != "" && (m == nil || m.Type != tt.wantType) {
			t.Errorf("decode(%s) type = %+v, want %s", tt.in, m, tt.wantType)
		}
	}
}

func TestDecodeKeepsID(t *testing.T) {
	m, err := decodeClientMessage([]byte(`{"type":"answer","id":42}`))
	if err == nil || m == nil || m.ID != 42 {
		t.Fatalf("decode = %+v, %v; want the id kept for the error's ref", m, err)
	}
}
