package client

import (
	"encoding/json"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// The protocol's messages are internal/wire's, as the server's are: its
// fixtures, which the web client's tests read too, keep the three sides
// to docs/protocol.md.

// Participant is a roster entry.
type Participant = wire.Participant

// TrackInfo maps a mid of a server offer to a participant's source.
type TrackInfo = wire.Track

// WaitingEntry is one person in the waiting room, as hosts see it.
type WaitingEntry = wire.WaitingEntry

// BreakoutPerson is someone in the breakouts status hosts get.
type BreakoutPerson = wire.BreakoutPerson

// BreakoutRoom is one room of the breakouts status.
type BreakoutRoom = wire.BreakoutRoomStatus

// inbound is one server message: its type, and the frame to decode into
// that type's wire struct (decodeAs).
type inbound struct {
	Type string
	raw  []byte
}

// decodeAs decodes m as the server message T.
func decodeAs[T any](m *inbound) (T, error) {
	var v T
	err := json.Unmarshal(m.raw, &v)
	return v, err
}

// settingsMap is a meeting's settings as Client.Settings gives them: the
// JSON object the server sent.
func settingsMap(s meeting.Settings) map[string]any {
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// Move is where the server sends this participant (breakout, or
// breakout_return with Room 0), with the token that lets it in there.
type Move struct {
	Room    int
	Name    string
	Seconds int
	Token   string
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
