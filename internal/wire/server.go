package wire

import (
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/pion/webrtc/v4"
)

// Objects of docs/protocol.md, "Objects".

// Participant is a roster entry (docs/protocol.md, "Participant").
type Participant struct {
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
	// Ingest: a media source publishing over WHIP (OBS, GStreamer), not
	// a person. Its media is NOT end-to-end encrypted: clients show it
	// marked so and play it without decrypting it.
	Ingest bool `json:"ingest,omitempty"`
	// Viewer, with Ingest: a program watching over WHEP, which receives
	// the meeting's media outside end-to-end encryption and sends none.
	Viewer bool `json:"viewer,omitempty"`
}

// Track maps a mid of a server offer to a participant's source.
type Track struct {
	Mid         string `json:"mid"`
	Participant string `json:"participant"`
	Source      string `json:"source"`
	Kind        string `json:"kind"`
}

// ICEServer is an entry of welcome's iceServers (RTCIceServer).
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Server → client messages.

// Welcome admits the participant.
type Welcome struct {
	Type         string           `json:"type"`
	V            int              `json:"v"`
	Server       string           `json:"server"`
	Meeting      MeetingRef       `json:"meeting"`
	Self         Participant      `json:"self"`
	Participants []Participant    `json:"participants"`
	Resume       string           `json:"resume"`
	Resumed      bool             `json:"resumed"`
	ICEServers   []ICEServer      `json:"iceServers"`
	Settings     meeting.Settings `json:"settings"`
	E2EE         bool             `json:"e2ee"`
	// Simulcast: the server forwards one of several camera encodings
	// (rid q, h, f) per subscriber; clients may publish them.
	Simulcast bool `json:"simulcast"`
	// Breakout is set in a breakout room: which one.
	Breakout *BreakoutRef `json:"breakout,omitempty"`
	// E2EERestart (with resumed): the server restarted and the meeting's
	// encrypted group is gone; the client leaves the one it holds and a
	// fresh one is formed (e2ee_job create, or a Welcome).
	E2EERestart bool `json:"e2eeRestart,omitempty"`
	// E2EEEpoch (with resumed): the meeting's group was lost with the
	// server that held the meeting, and continues here from the epoch
	// this client's hello proved; absent otherwise.
	E2EEEpoch *uint64 `json:"e2eeEpoch,omitempty"`
}

// MeetingRef is welcome's meeting.
type MeetingRef struct {
	ID string `json:"id"`
}

// BreakoutRef is welcome's breakout: the breakout room joined.
type BreakoutRef struct {
	Room int    `json:"room"`
	Name string `json:"name"`
}

// Waiting puts the participant in the waiting room, for Reason
// (meeting.WaitReason: "host_absent" or "waiting_room").
type Waiting struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// Refused answers a hello that is not let in; the socket closes after it.
type Refused struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Redirect, with CodeRegionNotAllowed only, is the public URL (an
	// origin, http or https) of a live node in the meeting's regions,
	// taken from the cluster's registry: the client may join the same
	// meeting there. Left out when no such node is up.
	Redirect string `json:"redirect,omitempty"`
}

// ParticipantEvent is participant_joined and participant_updated.
type ParticipantEvent struct {
	Type        string      `json:"type"`
	Participant Participant `json:"participant"`
}

// ParticipantLeft says who left and why (Left* reasons).
type ParticipantLeft struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Offer is the server's offer: every track the client receives.
type Offer struct {
	Type   string  `json:"type"`
	SDP    string  `json:"sdp"`
	Tracks []Track `json:"tracks"`
}

// Answer is an SDP answer, either way.
type Answer struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// Candidate is an ICE candidate, either way.
type Candidate struct {
	Type      string                  `json:"type"`
	Candidate webrtc.ICECandidateInit `json:"candidate"`
}

// Error reports a problem with one client message (Code* codes); Ref is
// that message's id.
type Error struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     int64  `json:"ref,omitempty"`
}

// Closed ends the participant's session (Closed* reasons).
type Closed struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Bare is a message with no fields besides its type: the server's pong,
// renegotiate and ice_restart, the client's ready, ping, leave, mute_all and end.
type Bare struct {
	Type string `json:"type"`
}

// WaitingRoom lists everyone waiting, for hosts and co-hosts.
type WaitingRoom struct {
	Type    string         `json:"type"`
	Entries []WaitingEntry `json:"entries"`
	// Guessing: many wrong passcodes were tried for this meeting lately.
	Guessing bool `json:"guessing"`
}

// WaitingEntry is one person in the waiting room.
type WaitingEntry struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	SignedIn bool   `json:"signedIn"`
	Reason   string `json:"reason"`
	Since    string `json:"since"`
	// BannedNetwork: they come from a network a host banned someone
	// from; "admit all" leaves them waiting.
	BannedNetwork bool `json:"bannedNetwork,omitempty"`
}

// SettingsUpdate is settings, either way: a host's new settings, and the
// meeting's new settings as the server tells everyone.
type SettingsUpdate struct {
	Type     string           `json:"type"`
	Settings meeting.Settings `json:"settings"`
}

// MediaStopped tells a participant a host stopped one of its sources.
type MediaStopped struct {
	Type   string `json:"type"`
	Source string `json:"source"`
	By     string `json:"by"`
}

// Draining says the server stops within Seconds.
type Draining struct {
	Type    string `json:"type"`
	Seconds int    `json:"seconds"`
}

// AdminNotice tells everyone in a meeting of an administrator's action on
// it (Notice* actions), with their reason and a sentence to show.
type AdminNotice struct {
	Type    string `json:"type"`
	Action  string `json:"action"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Breakout sends the participant to a breakout room; Token lets it in.
type Breakout struct {
	Type    string `json:"type"`
	Room    int    `json:"room"`
	Name    string `json:"name"`
	Seconds int    `json:"seconds"`
	Token   string `json:"token"`
}

// BreakoutReturn brings the participant back to the main room.
type BreakoutReturn struct {
	Type    string `json:"type"`
	Seconds int    `json:"seconds"`
	Token   string `json:"token"`
}

// Breakouts is who is where while breakout rooms are open, for hosts and
// co-hosts.
type Breakouts struct {
	Type    string               `json:"type"`
	Open    bool                 `json:"open"`
	Closing bool                 `json:"closing"`
	Main    []BreakoutPerson     `json:"main"`
	Rooms   []BreakoutRoomStatus `json:"rooms"`
}

// BreakoutRoomStatus is one room of breakouts.
type BreakoutRoomStatus struct {
	Room         int              `json:"room"`
	Name         string           `json:"name"`
	Participants []BreakoutPerson `json:"participants"`
}

// BreakoutPerson is someone in breakouts' lists.
type BreakoutPerson struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// BreakoutBroadcast is a host's message to every room, relayed as sent:
// From is the sender (the server's word); Payload is sealed (E2EE
// meetings), Text is in clear (meetings without).
type BreakoutBroadcast struct {
	Type    string `json:"type"`
	From    string `json:"from"`
	Payload []byte `json:"payload,omitempty"`
	Text    string `json:"text,omitempty"`
}

// E2EEJob asks a member to create the group, or to commit adds and
// removals on Epoch.
type E2EEJob struct {
	Type   string       `json:"type"`
	Create bool         `json:"create"`
	Epoch  uint64       `json:"epoch"`
	Add    []E2EEMember `json:"add"`
	Remove []E2EEMember `json:"remove"`
}

// E2EEMember is a participant and the KeyPackage it joined with.
type E2EEMember struct {
	Participant string `json:"participant"`
	KeyPackage  []byte `json:"keyPackage"`
}

// E2EECommit relays another member's accepted commit. Reason is the one
// the committer gave and the server took it for ("" for a job's commit):
// members refuse a "recording" commit that does anything but change the
// recording state.
type E2EECommit struct {
	Type   string `json:"type"`
	Epoch  uint64 `json:"epoch"`
	From   string `json:"from"`
	Reason string `json:"reason,omitempty"`
	Commit []byte `json:"commit"`
}

// E2EECommitOK accepts the member's own commit.
type E2EECommitOK struct {
	Type  string `json:"type"`
	Epoch uint64 `json:"epoch"`
}

// E2EEWelcome carries the MLS Welcome that adds the participant.
type E2EEWelcome struct {
	Type    string `json:"type"`
	Epoch   uint64 `json:"epoch"`
	Welcome []byte `json:"welcome"`
}

// E2EEMessage relays an MLS application message; Private: it was sent to
// this participant alone.
type E2EEMessage struct {
	Type    string `json:"type"`
	From    string `json:"from"`
	Epoch   uint64 `json:"epoch"`
	Kind    string `json:"kind"`
	Data    []byte `json:"data"`
	Private bool   `json:"private"`
}
