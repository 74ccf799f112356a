package client

import "github.com/pion/webrtc/v4"

// The protocol's JSON, as a client sees it. These mirror docs/protocol.md
// independently of the server's own types, so a test through this package
// checks the documented contract rather than the server's structs.

// Participant is a roster entry.
type Participant struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	SignedIn   bool   `json:"signedIn"`
	JoinedAt   string `json:"joinedAt"`
	Audio      bool   `json:"audio"`
	Video      bool   `json:"video"`
	Screen     bool   `json:"screen"`
	Connection string `json:"connection"`
}

// TrackInfo maps a mid of a server offer to a participant's source.
type TrackInfo struct {
	Mid         string `json:"mid"`
	Participant string `json:"participant"`
	Source      string `json:"source"`
	Kind        string `json:"kind"`
}

type publishedTrack struct {
	Mid    string `json:"mid"`
	Source string `json:"source"`
}

// inbound is every server message in one struct.
type inbound struct {
	Type string `json:"type"`

	// welcome
	V            int            `json:"v"`
	Self         Participant    `json:"self"`
	Participants []Participant  `json:"participants"`
	Resume       string         `json:"resume"`
	Resumed      bool           `json:"resumed"`
	Settings     map[string]any `json:"settings"`
	Entries      []WaitingEntry `json:"entries"`
	Guessing     bool           `json:"guessing"`
	Source       string         `json:"source"`
	ICEServers   []struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	} `json:"iceServers"`

	// draining, breakout, breakout_return (seconds); breakout: room, name
	// and token; breakouts: the status; welcome: breakout
	Seconds  int              `json:"seconds"`
	Room     int              `json:"room"`
	Name     string           `json:"name"`
	Token    string           `json:"token"`
	Open     bool             `json:"open"`
	Closing  bool             `json:"closing"`
	Main     []BreakoutPerson `json:"main"`
	Rooms    []BreakoutRoom   `json:"rooms"`
	Breakout *struct {
		Room int    `json:"room"`
		Name string `json:"name"`
	} `json:"breakout"`

	// breakout_broadcast
	From    string `json:"from"`
	Payload []byte `json:"payload"`
	Text    string `json:"text"`

	// admin_notice (with reason and message)
	Action string `json:"action"`

	// refused, error, closed
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     int64  `json:"ref"`
	Reason  string `json:"reason"`

	// participant_*
	Participant Participant `json:"participant"`
	ID          string      `json:"id"`

	// offer, answer, candidate
	SDP       string                   `json:"sdp"`
	Tracks    []TrackInfo              `json:"tracks"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
}

// Move is where the server sends this participant (breakout, or
// breakout_return with Room 0), with the token that lets it in there.
type Move struct {
	Room    int
	Name    string
	Seconds int
	Token   string
}

// BreakoutPerson and BreakoutRoom are the breakouts status hosts get.
type BreakoutPerson struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// BreakoutRoom is one room of the breakouts status.
type BreakoutRoom struct {
	Room         int              `json:"room"`
	Name         string           `json:"name"`
	Participants []BreakoutPerson `json:"participants"`
}

// Broadcast is a host's message to all rooms, as the server relayed it:
// who sent it (the server's word) and the sealed payload or the text.
type Broadcast struct {
	From    string
	Payload []byte
	Text    string
}

// AdminNotice is an administrator's action on the meeting as the server
// told it: the action ("locked", "unlocked"), their reason and the
// sentence to show.
type AdminNotice struct {
	Action  string
	Reason  string
	Message string
}

// Breakouts is the last breakouts status.
type Breakouts struct {
	Open, Closing bool
	Main          []BreakoutPerson
	Rooms         []BreakoutRoom
}

type helloMsg struct {
	Type       string `json:"type"`
	V          int    `json:"v"`
	Client     string `json:"client"`
	Meeting    string `json:"meeting"`
	Name       string `json:"name"`
	Resume     string `json:"resume,omitempty"`
	Passcode   string `json:"passcode,omitempty"`
	Device     string `json:"device,omitempty"`
	KeyPackage []byte `json:"keyPackage,omitempty"`
	Token      string `json:"token,omitempty"`
	Breakout   int    `json:"breakout,omitempty"`
	Audio      bool   `json:"audio"`
	Video      bool   `json:"video"`
}

type offerMsg struct {
	Type   string           `json:"type"`
	SDP    string           `json:"sdp"`
	Tracks []publishedTrack `json:"tracks"`
}

type sdpMsg struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type candidateMsg struct {
	Type      string                  `json:"type"`
	Candidate webrtc.ICECandidateInit `json:"candidate"`
}

type mediaMsg struct {
	Type   string `json:"type"`
	Audio  bool   `json:"audio"`
	Video  bool   `json:"video"`
	Screen bool   `json:"screen"`
}

type typeMsg struct {
	Type string `json:"type"`
}
