package audit

// ServerRecordingStarted: a host or co-host had the server record a
// meeting that is not end-to-end encrypted (internal/recorder; details:
// recording). ServerRecordingEnded: the server's recording of it ended
// (the server acts; details: recording, ended — stopped, duration_limit,
// size_limit or failed — and seconds). The subject is the meeting. What
// was recorded is never in the log.
const (
	ServerRecordingStarted Action = "recording.server_started"
	ServerRecordingEnded   Action = "recording.server_ended"
)
