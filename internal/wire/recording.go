package wire

// Recording (docs/protocol.md, "Recording"). A host or co-host's client
// says record on or off; the server tells everyone who records, from when,
// and tells each joiner on admission. In an end-to-end encrypted meeting
// the server only relays this state: the recorder's browser makes and
// encrypts the recording itself (docs/security.md, "Recording").
const (
	// TypeRecord is the client's start or stop.
	TypeRecord = "record"
	// TypeRecording is the server's state of the meeting's recording.
	TypeRecording = "recording"
)

// CodeBadRecording refuses a record that is not possible: an ID that is
// not one, a second recording while one runs, a stop by someone who is
// not recording, or a recorder that is not signed in.
const CodeBadRecording = "bad_recording"

// Record starts (on, with the recording's ID from POST /api/recordings)
// or stops the caller's recording of the meeting. Server (with on, and no
// ID) asks the server to record the meeting itself, which it does only
// in a meeting that is not end-to-end encrypted (docs/security.md,
// "Recording on the server").
type Record struct {
	Type      string `json:"type"`
	On        bool   `json:"on"`
	Recording string `json:"recording"`
	Server    bool   `json:"server,omitempty"`
}

// Recording is the meeting's recording state: on, whose client records
// (by: participant ID; name: their display name), since when (RFC 3339,
// UTC) and the recording's ID; off with the last recording's ID and
// recorder, or all empty when nobody has recorded. Server: the server
// records (by is the host or co-host who started it), not a browser: what
// it records is not end-to-end encrypted.
type Recording struct {
	Type      string `json:"type"`
	On        bool   `json:"on"`
	Recording string `json:"recording"`
	By        string `json:"by"`
	Name      string `json:"name"`
	Since     string `json:"since"`
	Server    bool   `json:"server,omitempty"`
}
