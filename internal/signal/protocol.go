package signal

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// ProtocolVersion is the version of docs/protocol.md this package speaks.
const ProtocolVersion = 1

// Limits on client messages, beyond the socket's frame limit.
const (
	maxFrameBytes   = 1 << 20
	maxClientString = 64
	maxTracks       = 8
)

// Error and refusal codes (docs/protocol.md).
const (
	codeBadMessage         = "bad_message"
	codeUnknownType        = "unknown_type"
	codeNotJoined          = "not_joined"
	codeAlreadyJoined      = "already_joined"
	codeInternal           = "internal"
	codeBadSDP             = "bad_sdp"
	codeBadTracks          = "bad_tracks"
	codeBadCandidate       = "bad_candidate"
	codeUnexpectedAnswer   = "unexpected_answer"
	codeOutOfTurn          = "out_of_turn"
	codeMeetingNotFound    = "meeting_not_found"
	codeMeetingFull        = "meeting_full"
	codeWaitingRoomFull    = "waiting_room_full"
	codeBadName            = "bad_name"
	codeUnsupportedVersion = "unsupported_version"
	codeBadRequest         = "bad_request"
	codeWrongPasscode      = "wrong_passcode"
	codeMeetingLocked      = "meeting_locked"
	codeBanned             = "banned"
	codeSignInRequired     = "sign_in_required"
	codeRateLimited        = "rate_limited"
	// codeBadBreakout refuses a breakout room change; codeBadToken a
	// hello with a move's token that is not (or no longer) valid, and
	// codeBreakoutClosed one for a breakout room that has closed.
	codeBadBreakout    = "bad_breakout"
	codeBadToken       = "bad_token"
	codeBreakoutClosed = "breakout_closed"
	// codeServerDraining refuses a new joiner while the server drains
	// before a stop; clients retry as after a lost connection.
	codeServerDraining    = "server_draining"
	codeDenied            = "denied"
	codeForbidden         = "forbidden"
	codeNotWaiting        = "not_waiting"
	codeNoSuchParticipant = "no_such_participant"
	codeBadSettings       = "bad_settings"
	codeBadRole           = "bad_role"
	codeE2EERequired      = "e2ee_required"
	codeE2EEStale         = "e2ee_stale"
	codeE2EENotCommitter  = "e2ee_not_committer"
	codeE2EENotMember     = "e2ee_not_member"
	codeE2EEBad           = "e2ee_bad"
	codeE2EETooSoon       = "e2ee_too_soon"
	codeE2EEStillPresent  = "e2ee_still_present"
	// codeE2EEKeyPackage tells a joiner that the member adding them could
	// not use their KeyPackage: reconnect with a fresh one.
	codeE2EEKeyPackage = "e2ee_key_package"
	// codeBadKeyPackage refuses a hello whose KeyPackage is malformed or
	// not one a Kaigi client makes (e2ee.CheckKeyPackage).
	codeBadKeyPackage = "bad_key_package"
)

// clientMessage is every client message in one struct: the fields a type
// does not use stay empty. One decode, no second pass.
type clientMessage struct {
	Type string `json:"type"`
	ID   int64  `json:"id,omitempty"`

	// hello
	V          int    `json:"v"`
	Client     string `json:"client"`
	Meeting    string `json:"meeting"`
	Name       string `json:"name"` // also rename
	Passcode   string `json:"passcode"`
	Resume     string `json:"resume"`
	Device     string `json:"device"`
	KeyPackage []byte `json:"keyPackage"` // base64 in JSON
	// E2EEEpoch, on a resuming hello, is the epoch the client's MLS state
	// is at; absent when it has none (then KeyPackage is needed).
	E2EEEpoch *uint64 `json:"e2eeEpoch"`
	// Token, on a hello, is a move's one-time token (breakout,
	// breakout_return); Breakout the breakout room it is for (1-based).
	Token    string `json:"token"`
	Breakout int    `json:"breakout"`

	// breakout_open: the rooms; breakout_move: to which room (0: the main
	// room); breakout_open, breakout_close: the countdown.
	Rooms   []breakoutSpec `json:"rooms"`
	Room    int            `json:"room"`
	Seconds int            `json:"seconds"`
	// breakout_broadcast: sealed (base64 in JSON), or in clear.
	Payload []byte `json:"payload"`
	Text    string `json:"text"`

	// e2ee_commit, e2ee_message (bytes are base64 in JSON)
	Epoch   uint64 `json:"epoch"`
	Commit  []byte `json:"commit"`
	Welcome []byte `json:"welcome"`
	Kind    string `json:"kind"`
	Data    []byte `json:"data"`
	To      string `json:"to"`
	// e2ee_commit made unasked: why ("update", "remove"), and for
	// "remove" whom it removes.
	Reason string   `json:"reason"`
	Remove []string `json:"remove"`
	// e2ee_commit for an add job: the participants whose KeyPackage the
	// committer could not use and left out.
	Skipped []string `json:"skipped"`

	// host controls
	Participant string            `json:"participant"`
	All         bool              `json:"all"`
	Ban         bool              `json:"ban"`
	Role        string            `json:"role"`
	Locked      bool              `json:"locked"`
	Settings    *meeting.Settings `json:"settings"`

	// hello, media
	Audio  bool `json:"audio"`
	Video  bool `json:"video"`
	Screen bool `json:"screen"`

	// offer, answer
	SDP    string           `json:"sdp"`
	Tracks []publishedTrack `json:"tracks"`

	// candidate
	Candidate *webrtc.ICECandidateInit `json:"candidate"`

	// video_size (participant and source name the video)
	Source string `json:"source"`
	Width  *int   `json:"width"`
	Height *int   `json:"height"`
}

// maxVideoSize bounds video_size's width and height (device pixels).
const maxVideoSize = 16384

type publishedTrack struct {
	Mid    string `json:"mid"`
	Source string `json:"source"`
}

// protocolError is a problem with one client message, reported to the client
// with a code and a sentence it may show.
type protocolError struct {
	code    string
	message string
}

func (e *protocolError) Error() string { return e.code + ": " + e.message }

func badMessage(format string, args ...any) *protocolError {
	return &protocolError{code: codeBadMessage, message: fmt.Sprintf(format, args...)}
}

// decodeClientMessage parses and checks one client frame.
func decodeClientMessage(b []byte) (*clientMessage, error) {
	var m clientMessage
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
			len(m.Token) > maxClientString || m.Breakout < 0 || m.Breakout > maxBreakoutRooms || (m.Breakout > 0 && m.Token == "") {
			return &m, badMessage("A field of hello is too long.")
		}
	case "offer":
		if m.SDP == "" {
			return &m, badMessage("An offer needs an sdp.")
		}
		if len(m.Tracks) > maxTracks {
			return &m, &protocolError{code: codeBadTracks, message: "Too many published tracks."}
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
		if len(m.Rooms) < 1 || len(m.Rooms) > maxBreakoutRooms || total > maxBreakoutPeople || m.Seconds < 0 || m.Seconds > maxBreakoutSeconds {
			return &m, badMessage("Open 1 to %d breakout rooms, with a countdown of 0 to %d seconds.", maxBreakoutRooms, maxBreakoutSeconds)
		}
	case "breakout_move":
		if m.Participant == "" || m.Room < 0 || m.Room > maxBreakoutRooms {
			return &m, badMessage("Say whom to move, and to which room (0: the main room).")
		}
	case "breakout_close":
		if m.Seconds < 0 || m.Seconds > maxBreakoutSeconds {
			return &m, badMessage("The countdown is 0 to %d seconds.", maxBreakoutSeconds)
		}
	case "breakout_broadcast":
		if (len(m.Payload) == 0) == (m.Text == "") || len(m.Payload) > maxBroadcastPayload ||
			len(m.Text) > 4*maxBroadcastText || utf8.RuneCountInString(m.Text) > maxBroadcastText || !utf8.ValidString(m.Text) {
			return &m, badMessage("A broadcast is a sealed payload of at most %d bytes, or a text of at most %d characters.", maxBroadcastPayload, maxBroadcastText)
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
			return &m, &protocolError{code: codeE2EEBad, message: "An e2ee_commit needs a commit."}
		case len(m.Skipped) > 0 && m.Reason != "":
			return &m, &protocolError{code: codeE2EEBad, message: "Only an add job's e2ee_commit skips KeyPackages."}
		case slices.ContainsFunc(m.Skipped, func(p string) bool { return p == "" || len(p) > maxClientString }):
			return &m, &protocolError{code: codeE2EEBad, message: "An e2ee_commit's skipped list has a participant ID that is empty or too long."}
		case m.Reason != "" && m.Reason != string(e2ee.ReasonUpdate) && m.Reason != string(e2ee.ReasonRemove):
			return &m, &protocolError{code: codeE2EEBad, message: "The reason of an e2ee_commit is update or remove."}
		case (m.Reason == string(e2ee.ReasonRemove)) != (m.Remove != nil):
			return &m, &protocolError{code: codeE2EEBad, message: "An e2ee_commit lists whom it removes when its reason is remove, and only then."}
		case slices.ContainsFunc(m.Remove, func(p string) bool { return p == "" || len(p) > maxClientString }):
			return &m, &protocolError{code: codeE2EEBad, message: "An e2ee_commit's remove list has a participant ID that is empty or too long."}
		}
	case "e2ee_message":
		if len(m.Data) == 0 || m.Kind == "" || len(m.Kind) > 16 {
			return &m, &protocolError{code: codeE2EEBad, message: "An e2ee_message needs data and a kind of at most 16 characters."}
		}
	case "":
		return &m, badMessage("The message has no type.")
	default:
		return &m, &protocolError{code: codeUnknownType, message: "This server does not know that message type."}
	}
	return &m, nil
}

func (m *clientMessage) publishedTracks() []sfu.PublishedTrack {
	out := make([]sfu.PublishedTrack, len(m.Tracks))
	for i, t := range m.Tracks {
		out[i] = sfu.PublishedTrack{Mid: t.Mid, Source: sfu.Source(t.Source)}
	}
	return out
}

// Server messages.

type participantJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	SignedIn bool   `json:"signedIn"`
	// Account is the signed-in account's ID (stable, opaque); absent for
	// guests. Clients key what they remember about a person by it.
	Account    string `json:"account,omitempty"`
	JoinedAt   string `json:"joinedAt"`
	Audio      bool   `json:"audio"`
	Video      bool   `json:"video"`
	Screen     bool   `json:"screen"`
	Connection string `json:"connection"`
	// MutedByHost: a host muted them (unmuting may need the meeting's
	// permission).
	MutedByHost bool `json:"mutedByHost"`
}

func toParticipantJSON(p meeting.Participant) participantJSON {
	conn := "connected"
	if !p.Connected {
		conn = "reconnecting"
	}
	return participantJSON{
		ID:          string(p.ID),
		Name:        p.Name,
		Role:        string(p.Role),
		SignedIn:    p.SignedIn(),
		Account:     p.Identity.UserID,
		JoinedAt:    p.JoinedAt.UTC().Format(time.RFC3339),
		Audio:       p.Media.Audio,
		Video:       p.Media.Video,
		Screen:      p.Media.Screen,
		Connection:  conn,
		MutedByHost: p.MutedByHost,
	}
}

// ICEServer is an entry of welcome's iceServers (RTCIceServer).
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

type welcomeMsg struct {
	Type         string            `json:"type"`
	V            int               `json:"v"`
	Server       string            `json:"server"`
	Meeting      meetingJSON       `json:"meeting"`
	Self         participantJSON   `json:"self"`
	Participants []participantJSON `json:"participants"`
	Resume       string            `json:"resume"`
	Resumed      bool              `json:"resumed"`
	ICEServers   []ICEServer       `json:"iceServers"`
	Settings     meeting.Settings  `json:"settings"`
	E2EE         bool              `json:"e2ee"`
	// Simulcast: the server forwards one of several camera encodings
	// (rid q, h, f) per subscriber; clients may publish them.
	Simulcast bool `json:"simulcast"`
	// Breakout is set in a breakout room: which one.
	Breakout *breakoutJSON `json:"breakout,omitempty"`
	// E2EERestart (with resumed): the server restarted and the meeting's
	// encrypted group is gone; the client leaves the one it holds and a
	// fresh one is formed (e2ee_job create, or a Welcome).
	E2EERestart bool `json:"e2eeRestart,omitempty"`
}

type meetingJSON struct {
	ID string `json:"id"`
}

type refusedMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type participantMsg struct {
	Type        string          `json:"type"`
	Participant participantJSON `json:"participant"`
}

type participantLeftMsg struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

type trackJSON struct {
	Mid         string `json:"mid"`
	Participant string `json:"participant"`
	Source      string `json:"source"`
	Kind        string `json:"kind"`
}

type offerMsg struct {
	Type   string      `json:"type"`
	SDP    string      `json:"sdp"`
	Tracks []trackJSON `json:"tracks"`
}

type answerMsg struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type candidateMsg struct {
	Type      string                  `json:"type"`
	Candidate webrtc.ICECandidateInit `json:"candidate"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     int64  `json:"ref,omitempty"`
}

type closedMsg struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// typeMsg is a message with no fields besides its type (pong, renegotiate).
type typeMsg struct {
	Type string `json:"type"`
}

type waitingMsg struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

type waitingEntry struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	SignedIn bool   `json:"signedIn"`
	Reason   string `json:"reason"`
	Since    string `json:"since"`
	// BannedNetwork: they come from a network a host banned someone
	// from; "admit all" leaves them waiting.
	BannedNetwork bool `json:"bannedNetwork,omitempty"`
}

type waitingRoomMsg struct {
	Type    string         `json:"type"`
	Entries []waitingEntry `json:"entries"`
	// Guessing: many wrong passcodes were tried for this meeting lately.
	Guessing bool `json:"guessing"`
}

type settingsMsg struct {
	Type     string           `json:"type"`
	Settings meeting.Settings `json:"settings"`
}

type mediaStoppedMsg struct {
	Type   string `json:"type"`
	Source string `json:"source"`
	By     string `json:"by"`
}

type e2eeMemberJSON struct {
	Participant string `json:"participant"`
	KeyPackage  []byte `json:"keyPackage"`
}

type e2eeJobMsg struct {
	Type   string           `json:"type"`
	Create bool             `json:"create"`
	Epoch  uint64           `json:"epoch"`
	Add    []e2eeMemberJSON `json:"add"`
	Remove []e2eeMemberJSON `json:"remove"`
}

type e2eeCommitMsg struct {
	Type   string `json:"type"`
	Epoch  uint64 `json:"epoch"`
	From   string `json:"from"`
	Commit []byte `json:"commit"`
}

type e2eeCommitOKMsg struct {
	Type  string `json:"type"`
	Epoch uint64 `json:"epoch"`
}

type e2eeWelcomeMsg struct {
	Type    string `json:"type"`
	Epoch   uint64 `json:"epoch"`
	Welcome []byte `json:"welcome"`
}

type e2eeAppMsg struct {
	Type    string `json:"type"`
	From    string `json:"from"`
	Epoch   uint64 `json:"epoch"`
	Kind    string `json:"kind"`
	Data    []byte `json:"data"`
	Private bool   `json:"private"`
}
