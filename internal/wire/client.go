package wire

import (
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/pion/webrtc/v4"
)

// Client → server messages. Any of them may carry an id, which an error
// it causes echoes as ref; ClientMessage has it, the single messages
// leave it to the sender.

// Hello is a client's first message.
type Hello struct {
	Type     string `json:"type"`
	V        int    `json:"v"`
	Client   string `json:"client"`
	Meeting  string `json:"meeting"`
	Name     string `json:"name"`
	Resume   string `json:"resume,omitempty"`
	Passcode string `json:"passcode,omitempty"`
	Device   string `json:"device,omitempty"`
	// KeyPackage is the client's MLS KeyPackage (an MLSMessage).
	KeyPackage []byte `json:"keyPackage,omitempty"`
	// E2EEEpoch, on a resuming hello, is the epoch the client's MLS state
	// is at; absent when it has none (then KeyPackage is needed).
	E2EEEpoch *uint64 `json:"e2eeEpoch,omitempty"`
	// E2EEProof, with E2EEEpoch, is the resume proof of that epoch
	// (MLS-Exporter("kaigi resume proof", "", 32)): a server that lost the
	// group continues it from the members who prove the same epoch.
	E2EEProof []byte `json:"e2eeProof,omitempty"`
	// Token is a move's one-time token (breakout, breakout_return);
	// Breakout the breakout room it is for (1-based; 0: the main room).
	Token    string `json:"token,omitempty"`
	Breakout int    `json:"breakout,omitempty"`
	Audio    bool   `json:"audio"`
	Video    bool   `json:"video"`
}

// ClientOffer is the client's offer: what each of its sending transceivers
// carries.
type ClientOffer struct {
	Type   string           `json:"type"`
	SDP    string           `json:"sdp"`
	Tracks []PublishedTrack `json:"tracks"`
}

// PublishedTrack is a source the client sends, by its transceiver's mid.
type PublishedTrack struct {
	Mid    string `json:"mid"`
	Source string `json:"source"`
}

// Media is the client's microphone, camera and screen state.
type Media struct {
	Type   string `json:"type"`
	Audio  bool   `json:"audio"`
	Video  bool   `json:"video"`
	Screen bool   `json:"screen"`
}

// VideoSize is the size, in device pixels, at which the client draws a
// received video (0×0: not shown).
type VideoSize struct {
	Type        string `json:"type"`
	Participant string `json:"participant"`
	Source      string `json:"source"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}

// Admission is admit and deny: one person waiting, or all.
type Admission struct {
	Type        string `json:"type"`
	Participant string `json:"participant,omitempty"`
	All         bool   `json:"all,omitempty"`
}

// Lock locks or unlocks the meeting.
type Lock struct {
	Type   string `json:"type"`
	Locked bool   `json:"locked"`
}

// Remove takes someone out; Ban keeps them out.
type Remove struct {
	Type        string `json:"type"`
	Participant string `json:"participant"`
	Ban         bool   `json:"ban"`
}

// Mute turns someone's microphone off.
type Mute struct {
	Type        string `json:"type"`
	Participant string `json:"participant"`
}

// StopVideo stops someone's camera, or with Screen their screen share.
type StopVideo struct {
	Type        string `json:"type"`
	Participant string `json:"participant"`
	Screen      bool   `json:"screen"`
}

// Rename changes a display name.
type Rename struct {
	Type        string `json:"type"`
	Participant string `json:"participant"`
	Name        string `json:"name"`
}

// SetRole makes or unmakes a co-host.
type SetRole struct {
	Type        string `json:"type"`
	Participant string `json:"participant"`
	Role        string `json:"role"`
}

// BreakoutOpen opens breakout rooms.
type BreakoutOpen struct {
	Type    string         `json:"type"`
	Rooms   []BreakoutSpec `json:"rooms"`
	Seconds int            `json:"seconds"`
}

// BreakoutSpec is one room breakout_open asks for: its name and who goes.
type BreakoutSpec struct {
	Name         string   `json:"name"`
	Participants []string `json:"participants"`
}

// BreakoutMove sends someone to another room (0: the main room).
type BreakoutMove struct {
	Type        string `json:"type"`
	Participant string `json:"participant"`
	Room        int    `json:"room"`
}

// BreakoutClose brings everyone back after Seconds.
type BreakoutClose struct {
	Type    string `json:"type"`
	Seconds int    `json:"seconds"`
}

// ClientBreakoutBroadcast is a host's message to all rooms: sealed
// (Payload) or in clear (Text), exactly one of the two.
type ClientBreakoutBroadcast struct {
	Type    string `json:"type"`
	Payload []byte `json:"payload,omitempty"`
	Text    string `json:"text,omitempty"`
}

// ClientE2EECommit is a member's commit, for a job or made unasked
// (Reason: e2ee.ReasonUpdate, e2ee.ReasonRemove or e2ee.ReasonRecording).
type ClientE2EECommit struct {
	Type    string   `json:"type"`
	Epoch   uint64   `json:"epoch"`
	Commit  []byte   `json:"commit"`
	Welcome []byte   `json:"welcome,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	Remove  []string `json:"remove,omitempty"`
	Skipped []string `json:"skipped,omitempty"`
}

// ClientE2EEMessage is an MLS application message to relay, to everyone
// or (To) one participant.
type ClientE2EEMessage struct {
	Type  string `json:"type"`
	Epoch uint64 `json:"epoch"`
	Kind  string `json:"kind"`
	Data  []byte `json:"data"`
	To    string `json:"to,omitempty"`
}

// ClientMessage is every client message in one struct, for the server to
// decode a frame in one pass: the fields a type does not use stay empty.
// Each field is the field of the same JSON name of the single messages
// above (a test keeps them so).
type ClientMessage struct {
	Type string `json:"type"`
	ID   int64  `json:"id,omitempty"`

	// hello
	V          int     `json:"v"`
	Client     string  `json:"client"`
	Meeting    string  `json:"meeting"`
	Name       string  `json:"name"` // also rename
	Passcode   string  `json:"passcode"`
	Resume     string  `json:"resume"`
	Device     string  `json:"device"`
	KeyPackage []byte  `json:"keyPackage"`
	E2EEEpoch  *uint64 `json:"e2eeEpoch"`
	E2EEProof  []byte  `json:"e2eeProof"`
	Token      string  `json:"token"`
	Breakout   int     `json:"breakout"`

	// breakout_open, breakout_move, breakout_close, breakout_broadcast
	Rooms   []BreakoutSpec `json:"rooms"`
	Room    int            `json:"room"`
	Seconds int            `json:"seconds"`
	Payload []byte         `json:"payload"`
	Text    string         `json:"text"`

	// e2ee_commit, e2ee_message
	Epoch   uint64   `json:"epoch"`
	Commit  []byte   `json:"commit"`
	Welcome []byte   `json:"welcome"`
	Kind    string   `json:"kind"`
	Data    []byte   `json:"data"`
	To      string   `json:"to"`
	Reason  string   `json:"reason"`
	Remove  []string `json:"remove"`
	Skipped []string `json:"skipped"`

	// host controls
	Participant string            `json:"participant"`
	All         bool              `json:"all"`
	Ban         bool              `json:"ban"`
	Role        string            `json:"role"`
	Locked      bool              `json:"locked"`
	Settings    *meeting.Settings `json:"settings"`

	// record (recording.go)
	On        bool   `json:"on"`
	Recording string `json:"recording"`
	Server    bool   `json:"server"`

	// hello, media
	Audio  bool `json:"audio"`
	Video  bool `json:"video"`
	Screen bool `json:"screen"`

	// offer, answer
	SDP    string           `json:"sdp"`
	Tracks []PublishedTrack `json:"tracks"`

	// candidate
	Candidate *webrtc.ICECandidateInit `json:"candidate"`

	// video_size (with participant); pointers, to tell 0 from absent
	Source string `json:"source"`
	Width  *int   `json:"width"`
	Height *int   `json:"height"`
}
