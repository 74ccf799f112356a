package live

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Recording (docs/protocol.md, "Recording"). A host or co-host who is
// signed in says record on with the ID of a recording they created
// through the API; the room remembers who records and tells everyone,
// and every joiner on admission, so that each client shows the
// indicator. The room never records: in an end-to-end encrypted meeting
// it cannot, and it only relays the state. The recording stops when its
// recorder says so, when a host or co-host stops it, or when the
// recorder leaves (after any reconnection grace).

// ErrRecording: the record is not possible now (a recording already
// runs, none runs, or the recorder is not signed in).
var ErrRecording = errors.New("recording")

// recordingIDPattern is the shape of a recording's ID (store.NewRecordingID).
var recordingIDPattern = regexp.MustCompile(`^rec_[A-Za-z0-9_-]{22}$`)

// recordingState is a room's running recording.
type recordingState struct {
	id    string
	by    meeting.ParticipantID
	since time.Time
	// server: the server records (serverrec.go), for userID, until stop
	// (nil while it starts, and once stopped).
	server bool
	userID string
	stop   func()
}

func (r *Room) recordingJSONLocked() wire.Recording {
	rec := r.recording
	if rec == nil {
		return wire.Recording{Type: wire.TypeRecording}
	}
	return wire.Recording{Type: wire.TypeRecording, On: true, Recording: rec.id, By: string(rec.by),
		Name: r.nameOfLocked(rec.by), Since: rec.since.UTC().Format(time.RFC3339), Server: rec.server}
}

// Record starts (on) or stops the meeting's recording at a member's word.
func (r *Room) Record(by meeting.ParticipantID, conn Conn, on bool, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	p, _ := r.core.Participant(by)
	moderator := p.Role == meeting.RoleHost || p.Role == meeting.RoleCoHost
	if on {
		switch {
		case !moderator:
			return meeting.ErrForbidden
		case r.recording != nil:
			return fmt.Errorf("%w: %s", ErrRecording, "a recording already runs")
		case p.Identity.UserID == "":
			return fmt.Errorf("%w: %s", ErrRecording, "only a signed-in account can record")
		case !recordingIDPattern.MatchString(id):
			return fmt.Errorf("%w: %s", ErrRecording, "that is not a recording's ID")
		}
		r.recording = &recordingState{id: id, by: by, since: time.Now()}
		r.e2eeRecordingLocked(by)
		r.log.Info("recording started", "by", by)
		r.broadcastLocked(r.recordingJSONLocked(), "")
		return nil
	}
	switch {
	case r.recording == nil:
		return fmt.Errorf("%w: %s", ErrRecording, "nothing is being recorded")
	case r.recording.by != by && !moderator:
		return meeting.ErrForbidden
	}
	r.stopRecordingLocked(by)
	return nil
}

// stopRecordingLocked ends the running recording and tells everyone
// (the recorder's client stops at this word too).
func (r *Room) stopRecordingLocked(by meeting.ParticipantID) {
	rec := r.recording
	msg := r.recordingJSONLocked()
	msg.On, msg.Since = false, ""
	r.recording = nil
	stopServerRecordingLocked(rec)
	r.log.Info("recording stopped", "by", by, "recorder", rec.by)
	r.broadcastLocked(msg, "")
}

// recorderGoneLocked stops the recording of a member who left the room.
func (r *Room) recorderGoneLocked(pid meeting.ParticipantID) {
	if r.recording != nil && r.recording.by == pid {
		r.stopRecordingLocked(pid)
	}
}

// sendRecordingToLocked tells a member just admitted that the meeting is being
// recorded, if it is.
func (r *Room) sendRecordingToLocked(conn Conn) {
	if r.recording != nil && r.recording.id != "" {
		conn.Send(r.recordingJSONLocked())
	}
}
