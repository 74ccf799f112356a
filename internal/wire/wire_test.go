package wire

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The Go type of each message, by direction and type.
var (
	serverMessages = map[string]any{
		TypeWelcome: Welcome{}, TypeWaiting: Waiting{}, TypeRefused: Refused{},
		TypeBreakout: Breakout{}, TypeBreakoutReturn: BreakoutReturn{}, TypeBreakouts: Breakouts{},
		TypeBreakoutBroadcast: BreakoutBroadcast{}, TypeAdminNotice: AdminNotice{}, TypeDraining: Draining{},
		TypeParticipantJoined: ParticipantEvent{}, TypeParticipantUpdated: ParticipantEvent{},
		TypeParticipantLeft: ParticipantLeft{}, TypeWaitingRoom: WaitingRoom{}, TypeSettings: SettingsUpdate{},
		TypeMediaStopped: MediaStopped{}, TypeRenegotiate: Bare{}, TypeOffer: Offer{}, TypeAnswer: Answer{},
		TypeCandidate: Candidate{}, TypePong: Bare{}, TypeError: Error{}, TypeClosed: Closed{},
		TypeE2EEJob: E2EEJob{}, TypeE2EECommitOK: E2EECommitOK{}, TypeE2EECommit: E2EECommit{},
		TypeE2EEWelcome: E2EEWelcome{}, TypeE2EEMessage: E2EEMessage{},
		TypeICERestart: Bare{},
	}
	clientMessages = map[string]any{
		TypeHello: Hello{}, TypeOffer: ClientOffer{}, TypeAnswer: Answer{}, TypeReady: Bare{},
		TypeCandidate: Candidate{}, TypeMedia: Media{}, TypeVideoSize: VideoSize{}, TypePing: Bare{},
		TypeLeave: Bare{}, TypeAdmit: Admission{}, TypeDeny: Admission{}, TypeLock: Lock{}, TypeRemove: Remove{},
		TypeMute: Mute{}, TypeMuteAll: Bare{}, TypeStopVideo: StopVideo{}, TypeRename: Rename{},
		TypeSetRole: SetRole{}, TypeSettings: SettingsUpdate{}, TypeEnd: Bare{},
		TypeBreakoutOpen: BreakoutOpen{}, TypeBreakoutMove: BreakoutMove{}, TypeBreakoutClose: BreakoutClose{},
		TypeBreakoutBroadcast: ClientBreakoutBroadcast{}, TypeE2EECommit: ClientE2EECommit{},
		TypeE2EEMessage: ClientE2EEMessage{},
	}
	directions = map[string]map[string]any{"server-to-client": serverMessages, "client-to-server": clientMessages}
)

// fixtures reads testdata/<dir>: type → JSON.
func fixtures(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/%s: %v", dir, err)
	}
	out := make(map[string][]byte)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Type string }
		if err := json.Unmarshal(b, &head); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".json"); head.Type != want {
			t.Errorf("%s: type %q, want %q (the file's name)", f, head.Type, want)
		}
		out[head.Type] = b
	}
	return out
}

// TestFixturesRoundTrip: every fixture decodes into its message's Go type
// with no field left over, and encodes back to the same JSON; every type
// has a fixture. A field renamed, dropped or added on the Go side (or in a
// fixture) fails here.
func TestFixturesRoundTrip(t *testing.T) {
	for dir, types := range directions {
		fx := fixtures(t, dir)
		for typ := range types {
			if _, ok := fx[typ]; !ok {
				t.Errorf("%s: %s has a Go type and no fixture", dir, typ)
			}
		}
		for typ, b := range fx {
			proto, ok := types[typ]
			if !ok {
				t.Errorf("%s/%s.json: no Go type for it", dir, typ)
				continue
			}
			v := reflect.New(reflect.TypeOf(proto))
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v.Interface()); err != nil {
				t.Errorf("%s/%s.json does not decode into %T: %v", dir, typ, proto, err)
				continue
			}
			again, err := json.Marshal(v.Interface())
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, b, again) {
				t.Errorf("%s/%s.json does not survive %T:\n fixture: %s\n encoded: %s", dir, typ, proto, compact(b), again)
			}
		}
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func compact(b []byte) string {
	var buf bytes.Buffer
	_ = json.Compact(&buf, b)
	return buf.String()
}

// TestClientMessageIsTheClientMessages: the server decodes every client
// message into ClientMessage, so each field of each client message is
// there under the same JSON name with the same type (or a pointer to it,
// to tell absent from zero), and ClientMessage has no field that no client
// message has (but id, which any may carry). Every client fixture decodes
// into it with nothing left over.
func TestClientMessageIsTheClientMessages(t *testing.T) {
	union := jsonFields(reflect.TypeOf(ClientMessage{}))
	used := map[string]bool{"id": true}
	for typ, proto := range clientMessages {
		for name, ft := range jsonFields(reflect.TypeOf(proto)) {
			used[name] = true
			ut, ok := union[name]
			switch {
			case !ok:
				t.Errorf("%s's field %q is not in ClientMessage", typ, name)
			case ut != ft && !(ut.Kind() == reflect.Pointer && ut.Elem() == ft) && !(ft.Kind() == reflect.Pointer && ft.Elem() == ut):
				t.Errorf("%s's field %q is %v, ClientMessage's %v", typ, name, ft, ut)
			}
		}
	}
	for name := range union {
		if !used[name] {
			t.Errorf("ClientMessage's field %q belongs to no client message", name)
		}
	}
	for typ, b := range fixtures(t, "client-to-server") {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var m ClientMessage
		if err := dec.Decode(&m); err != nil || m.Type != typ {
			t.Errorf("client-to-server/%s.json as a ClientMessage: type %q, %v", typ, m.Type, err)
		}
	}
}

// jsonFields maps the JSON names of a struct's fields to their types.
func jsonFields(st reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for i := range st.NumField() {
		f := st.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			panic(st.Name() + "." + f.Name + " has no JSON name")
		}
		out[name] = f.Type
	}
	return out
}

// notInHeadings are messages docs/protocol.md describes only in a
// paragraph, not in a heading or a message table, with where. Each entry
// fails the test once the document lists the message properly, so that
// the exception goes with it.
var notInHeadings = map[string]string{}

// TestDocumentListsEveryMessage: docs/protocol.md names, in its message
// headings and message tables, exactly the message types that have a
// fixture, in the same direction.
func TestDocumentListsEveryMessage(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := documentedMessages(string(doc))
	if len(listed["server-to-client"]) < 10 || len(listed["client-to-server"]) < 10 {
		t.Fatalf("found too few messages in docs/protocol.md (is its layout still headings and message tables?): %v", listed)
	}
	for dir := range directions {
		fx := fixtures(t, dir)
		for typ := range fx {
			key := dir + "/" + typ
			_, excused := notInHeadings[key]
			switch {
			case listed[dir][typ] && excused:
				t.Errorf("docs/protocol.md now lists %s: remove it from notInHeadings", key)
			case !listed[dir][typ] && !excused:
				t.Errorf("%s has a fixture and docs/protocol.md does not list it (a heading like ### `%s`, or a row of a message table)", key, typ)
			}
		}
		for typ := range listed[dir] {
			if _, ok := fx[typ]; !ok {
				t.Errorf("docs/protocol.md lists %s/%s and testdata has no fixture for it", dir, typ)
			}
		}
	}
	for key := range notInHeadings {
		dir, typ, _ := strings.Cut(key, "/")
		if _, ok := fixtures(t, dir)[typ]; !ok {
			t.Errorf("notInHeadings names %s, which has no fixture", key)
		}
		if !strings.Contains(string(doc), "`"+typ+"`") {
			t.Errorf("docs/protocol.md does not mention %s at all", key)
		}
	}
}

// documentedMessages reads the message types docs/protocol.md lists, by
// direction: the names in a ### heading made of `names` (under
// "## Client → server" or "## Server → client", or with its own
// "(client → server)", "(server → client)" or "(both ways)"), and the
// first column of a table whose first header is "message", in the
// direction of the heading above it.
func documentedMessages(doc string) map[string]map[string]bool {
	out := map[string]map[string]bool{"server-to-client": {}, "client-to-server": {}}
	section := []string(nil) // directions of the current ## section
	current := []string(nil) // of the current ### heading
	inTable := false
	for line := range strings.SplitSeq(doc, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "## "):
			section = directionsOf(strings.TrimPrefix(line, "## "))
			current, inTable = section, false
		case strings.HasPrefix(line, "### "):
			h := strings.TrimPrefix(line, "### ")
			current, inTable = section, false
			if !strings.HasPrefix(h, "`") {
				continue
			}
			names, rest := backticked(h)
			if d := directionsOf(rest); d != nil {
				current = d
			}
			for _, n := range names {
				for _, d := range current {
					out[d][n] = true
				}
			}
		case strings.HasPrefix(line, "|"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			first := strings.TrimSpace(cells[0])
			switch {
			case first == "message":
				inTable = true
			case inTable && strings.HasPrefix(first, "`"):
				names, _ := backticked(first)
				for _, d := range current {
					out[d][names[0]] = true
				}
			}
		default:
			inTable = false
		}
	}
	return out
}

// directionsOf reads a direction from a heading's text.
func directionsOf(s string) []string {
	s = strings.ToLower(s)
	switch {
	case strings.Contains(s, "both ways"):
		return []string{"server-to-client", "client-to-server"}
	case strings.Contains(s, "client → server"):
		return []string{"client-to-server"}
	case strings.Contains(s, "server → client"):
		return []string{"server-to-client"}
	}
	return nil
}

// backticked splits "`a`, `b` (rest)" into [a b] and " (rest)".
func backticked(s string) (names []string, rest string) {
	for {
		s = strings.TrimLeft(s, ", ")
		if !strings.HasPrefix(s, "`") {
			return names, s
		}
		end := strings.Index(s[1:], "`")
		if end < 0 {
			return names, s
		}
		names = append(names, s[1:1+end])
		s = s[2+end:]
	}
}

// TestCodesAreDocumented: every code and closed reason constant is
// named in docs/protocol.md, in backticks.
func TestCodesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	consts := []string{
		CodeBadMessage, CodeUnknownType, CodeNotJoined, CodeAlreadyJoined, CodeForbidden, CodeRateLimited, CodeInternal,
		CodeBadSDP, CodeBadTracks, CodeBadCandidate, CodeUnexpectedAnswer, CodeOutOfTurn,
		CodeMeetingNotFound, CodeWrongPasscode, CodeMeetingLocked, CodeBanned, CodeSignInRequired, CodeDenied,
		CodeE2EERequired, CodeBadKeyPackage, CodeMeetingFull, CodeWaitingRoomFull, CodeBadName, CodeUnsupportedVersion,
		CodeBadRequest, CodeCountryNotAllowed, CodeServerDraining, CodeBadToken, CodeBreakoutClosed,
		CodeNotWaiting, CodeNoSuchParticipant, CodeBadSettings, CodeBadRole, CodeBadBreakout,
		CodeE2EEStale, CodeE2EENotCommitter, CodeE2EENotMember, CodeE2EEBad, CodeE2EETooSoon, CodeE2EEStillPresent, CodeE2EEKeyPackage,
		ClosedReplaced, ClosedRemoved, ClosedEnded, ClosedBreakoutEnded, ClosedShutdown, ClosedFlooding,
		ClosedSignedOut, ClosedAccountSuspended, ClosedAccountDeleted,
	}
	for _, c := range consts {
		if !strings.Contains(string(doc), "`"+c+"`") {
			t.Errorf("docs/protocol.md does not name %q", c)
		}
	}
	if slices.Contains(consts, "") {
		t.Error("an empty code")
	}
}
