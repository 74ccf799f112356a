package signal

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Limits on client messages, beyond the socket's frame limit.
const (
	maxFrameBytes   = 1 << 20
	maxClientString = 64
	maxTracks       = 8
)

// maxVideoSize bounds video_size's width and height (device pixels).
const maxVideoSize = 16384

// protocolError is a problem with one client message, reported to the client
// with a code and a sentence it may show.
type protocolError struct {
	code    string
	message string
}

func (e *protocolError) Error() string { return e.code + ": " + e.message }

func badMessage(format string, args ...any) *protocolError {
	return &protocolError{code: wire.CodeBadMessage, message: fmt.Sprintf(format, args...)}
}

// decodeClientMessage parses and checks one client frame.
func decodeClientMessage(b []byte) (*wire.ClientMessage, error) {
	var m wire.ClientMessage
	if err := json.Unmarshal(b, &m); err != nil {
		// In valid JSON, the rest was decoded: keep the id for the error's ref.
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return &m, badMessage("The field %q has the wrong type.", typeErr.Field)
		case json.Valid(b):
			return &m, badMessage("A field has a value of the wrong form (bytes must be base64).")
		}
		return nil, badMessage("The message is not valid JSON.")
	}
	switch m.Type {
	case "hello":
		if len(m.Client) > maxClientString || len(m.Device) > maxClientString || len(m.Passcode) > maxClientString ||
			len(m.Token) > maxClientString || m.Breakout < 0 || m.Breakout > live.MaxBreakoutRooms || (m.Breakout > 0 && m.Token == "") {
			return &m, badMessage("A field of hello is too long.")
		}
	case "offer":
		if m.SDP == "" {
			return &m, badMessage("An offer needs an sdp.")
		}
		if len(m.Tracks) > maxTracks {
			return &m, &protocolError{code: wire.CodeBadTracks, message: "Too many published tracks."}
		}
	case "answer":
		if m.SDP == "" {
			return &m, badMessage("An answer needs an sdp.")
		}
	case "candidate":
		if m.Candidate == nil {
			return &m, badMessage("A candidate message needs a candidate.")
		}
	case "media", "ping", "leave", "ready", "mute_all", "end", "lock":
	case "breakout_open":
		total := 0
		for _, r := range m.Rooms {
			total += len(r.Participants)
			if len(r.Name) > 4*meeting.MaxNameLength || slices.ContainsFunc(r.Participants, func(p string) bool { return p == "" || len(p) > maxClientString }) {
				return &m, badMessage("A breakout room needs a name of at most %d characters and participant IDs.", meeting.MaxNameLength)
			}
		}
		if len(m.Rooms) < 1 || len(m.Rooms) > live.MaxBreakoutRooms || total > live.MaxBreakoutPeople || m.Seconds < 0 || m.Seconds > live.MaxBreakoutSeconds {
			return &m, badMessage("Open 1 to %d breakout rooms, with a countdown of 0 to %d seconds.", live.MaxBreakoutRooms, live.MaxBreakoutSeconds)
		}
	case "breakout_move":
		if m.Participant == "" || m.Room < 0 || m.Room > live.MaxBreakoutRooms {
			return &m, badMessage("Say whom to move, and to which room (0: the main room).")
		}
	case "breakout_close":
		if m.Seconds < 0 || m.Seconds > live.MaxBreakoutSeconds {
			return &m, badMessage("The countdown is 0 to %d seconds.", live.MaxBreakoutSeconds)
		}
	case "breakout_broadcast":
		if (len(m.Payload) == 0) == (m.Text == "") || len(m.Payload) > live.MaxBroadcastPayload ||
			len(m.Text) > 4*live.MaxBroadcastText || utf8.RuneCountInString(m.Text) > live.MaxBroadcastText || !utf8.ValidString(m.Text) {
			return &m, badMessage("A broadcast is a sealed payload of at most %d bytes, or a text of at most %d characters.", live.MaxBroadcastPayload, live.MaxBroadcastText)
		}
	case "record":
		if m.Server && (!m.On || m.Recording != "") {
			return &m, badMessage("Ask the server to record with on and no recording ID; stop it as any recording, off.")
		}
		if !m.Server && (m.On == (m.Recording == "") || len(m.Recording) > maxClientString) {
			return &m, badMessage("Record on with the recording's ID, or off without one.")
		}
	case "admit", "deny":
		if m.Participant == "" && !m.All {
			return &m, badMessage("Say whom to %s, or all.", m.Type)
		}
	case "remove", "mute", "stop_video":
		if m.Participant == "" {
			return &m, badMessage("Say which participant.")
		}
	case "rename":
		if m.Participant == "" || len(m.Name) > 4*meeting.MaxNameLength {
			return &m, badMessage("Say which participant and a name of at most %d characters.", meeting.MaxNameLength)
		}
	case "set_role":
		if m.Participant == "" || m.Role == "" {
			return &m, badMessage("Say which participant and which role.")
		}
	case "settings":
		if m.Settings == nil {
			return &m, badMessage("A settings message needs settings.")
		}
	case "video_size":
		switch {
		case m.Participant == "":
			return &m, badMessage("Say whose video.")
		case m.Source != string(sfu.SourceCamera) && m.Source != string(sfu.SourceScreen):
			return &m, badMessage("The source of a video_size is camera or screen.")
		case m.Width == nil || m.Height == nil:
			return &m, badMessage("A video_size needs a width and a height.")
		case *m.Width < 0 || *m.Height < 0 || *m.Width > maxVideoSize || *m.Height > maxVideoSize:
			return &m, badMessage("A video's width and height are 0 to %d pixels.", maxVideoSize)
		case (*m.Width == 0) != (*m.Height == 0):
			return &m, badMessage("A hidden video has width and height 0; a shown one has neither 0.")
		}
	case "e2ee_commit":
		switch {
		case len(m.Commit) == 0 && len(m.Skipped) == 0:
			return &m, &protocolError{code: wire.CodeE2EEBad, message: "An e2ee_commit needs a commit."}
		case len(m.Skipped) > 0 && m.Reason != "":
			return &m, &protocolError{code: wire.CodeE2EEBad, message: "Only an add job's e2ee_commit skips KeyPackages."}
		case slices.ContainsFunc(m.Skipped, func(p string) bool { return p == "" || len(p) > maxClientString }):
			return &m, &protocolError{code: wire.CodeE2EEBad, message: "An e2ee_commit's skipped list has a participant ID that is empty or too long."}
		case m.Reason != "" && m.Reason != string(e2ee.ReasonUpdate) && m.Reason != string(e2ee.ReasonRemove) && m.Reason != string(e2ee.ReasonRecording):
			return &m, &protocolError{code: wire.CodeE2EEBad, message: "The reason of an e2ee_commit is update, remove or recording."}
		case (m.Reason == string(e2ee.ReasonRemove)) != (m.Remove != nil):
			return &m, &protocolError{code: wire.CodeE2EEBad, message: "An e2ee_commit lists whom it removes when its reason is remove, and only then."}
		case slices.ContainsFunc(m.Remove, func(p string) bool { return p == "" || len(p) > maxClientString }):
			return &m, &protocolError{code: wire.CodeE2EEBad, message: "An e2ee_commit's remove list has a participant ID that is empty or too long."}
		}
	case "e2ee_message":
		if len(m.Data) == 0 || m.Kind == "" || len(m.Kind) > 16 {
			return &m, &protocolError{code: wire.CodeE2EEBad, message: "An e2ee_message needs data and a kind of at most 16 characters."}
		}
	case "":
		return &m, badMessage("The message has no type.")
	default:
		return &m, &protocolError{code: wire.CodeUnknownType, message: "This server does not know that message type."}
	}
	return &m, nil
}

// publishedTracks is what an offer says it publishes.
func publishedTracks(m *wire.ClientMessage) []sfu.PublishedTrack {
	out := make([]sfu.PublishedTrack, len(m.Tracks))
	for i, t := range m.Tracks {
		out[i] = sfu.PublishedTrack{Mid: t.Mid, Source: sfu.Source(t.Source)}
	}
	return out
}

// ICEServer is an entry of welcome's iceServers (RTCIceServer).
type ICEServer = wire.ICEServer
