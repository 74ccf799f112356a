package signal

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/wire"
)

// FuzzClientMessage: the decoder of client frames never panics, and what
// it returns is one of three things. Not JSON: no message, and the "not
// valid JSON" error. A problem with one message: the message as far as it
// decoded (so the error can name its id) and a protocol error whose code is
// one the decoder gives. Valid: a message of a known type that satisfies
// that type's checks, and that the decoder reads the same when it is
// encoded again (what the server acts on is all in the struct).
func FuzzClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","v":1,"meeting":"7k3m-q9xd-2hfa-b8rn","name":"Ada","keyPackage":"AAEABQ==","e2eeEpoch":3}`,
		`{"type":"offer","sdp":"v=0","tracks":[{"mid":"0","source":"camera"}]}`,
		`{"type":"candidate","candidate":{"candidate":"","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"video_size","participant":"p1","source":"camera","width":640,"height":360}`,
		`{"type":"e2ee_commit","epoch":3,"commit":"AQI=","reason":"remove","remove":["p1"]}`,
		`{"type":"e2ee_commit","epoch":3,"skipped":["p1"]}`,
		`{"type":"e2ee_message","kind":"chat","data":"AQ==","to":"p2","id":9}`,
		`{"type":"settings","settings":{"e2ee":true,"screenShare":"hosts"}}`,
		`{"type":"admit","all":true}`,
		`{"type":"media","audio":"yes","id":4}`,
		`{"type":"rename","participant":"p1","name":"Bob"}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	codes := []string{wire.CodeBadMessage, wire.CodeBadTracks, wire.CodeE2EEBad, wire.CodeUnknownType}
	types := []string{"hello", "offer", "answer", "candidate", "media", "ping", "leave", "ready", "mute_all", "end", "lock",
		"admit", "deny", "remove", "mute", "stop_video", "rename", "set_role", "settings", "video_size", "e2ee_commit", "e2ee_message"}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeClientMessage(b)
		if err != nil {
			var pe *protocolError
			switch {
			case !errors.As(err, &pe) || !slices.Contains(codes, pe.code) || pe.message == "":
				t.Fatalf("error %#v is not a protocol error with a known code and a message", err)
			case (m == nil) != (pe.message == "The message is not valid JSON."):
				t.Fatalf("message %+v with error %v", m, err)
			case m == nil && json.Valid(b):
				t.Fatalf("valid JSON %q called invalid", b)
			case pe.code == wire.CodeUnknownType && (m.Type == "" || slices.Contains(types, m.Type)):
				t.Fatalf("type %q called unknown", m.Type)
			}
			return
		}
		if m == nil || !slices.Contains(types, m.Type) {
			t.Fatalf("accepted %+v", m)
		}
		switch m.Type {
		case "hello":
			if len(m.Client) > maxClientString || len(m.Device) > maxClientString || len(m.Passcode) > maxClientString {
				t.Fatal("accepted a hello with an overlong field")
			}
		case "offer", "answer":
			if m.SDP == "" || len(m.Tracks) > maxTracks {
				t.Fatal("accepted an offer/answer without sdp, or with too many tracks")
			}
		case "candidate":
			if m.Candidate == nil {
				t.Fatal("accepted a candidate message without a candidate")
			}
		case "settings":
			if m.Settings == nil {
				t.Fatal("accepted settings without settings")
			}
		case "admit", "deny", "remove", "mute", "stop_video", "rename", "set_role":
			if m.Participant == "" && !(m.All && (m.Type == "admit" || m.Type == "deny")) {
				t.Fatalf("accepted %s without a participant", m.Type)
			}
		case "e2ee_commit":
			if (len(m.Commit) == 0 && len(m.Skipped) == 0) || (m.Reason == "remove") != (m.Remove != nil) ||
				(m.Reason != "" && m.Reason != "update" && m.Reason != "remove") || (len(m.Skipped) > 0 && m.Reason != "") {
				t.Fatalf("accepted an e2ee_commit %+v", m)
			}
		case "e2ee_message":
			if len(m.Data) == 0 || m.Kind == "" || len(m.Kind) > 16 {
				t.Fatal("accepted an e2ee_message without data or kind")
			}
		case "video_size":
			if m.Width == nil || m.Height == nil || *m.Width < 0 || *m.Height < 0 || *m.Width > maxVideoSize ||
				*m.Height > maxVideoSize || (*m.Width == 0) != (*m.Height == 0) {
				t.Fatal("accepted a video_size without a valid size")
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := decodeClientMessage(again)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("accepted %q, which encodes to %s and decodes to %+v, %v", b, again, m2, err)
		}
	})
}
