package live

import (
	"context"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// Recording on the server (docs/security.md, "Recording on the server";
// docs/protocol.md, "Recording"). In a meeting that is not end-to-end
// encrypted a host or co-host who is signed in may have the server record
// the meeting itself (Options.RecordOnServer, internal/recorder): the
// active speaker's video and voice, stored as that account's recording.
// It is the meeting's one recording, shown and stopped as a browser's is
// (recording.go), with server set in the state everyone is sent. The
// server refuses it in an end-to-end encrypted meeting, whose media it
// cannot read (and a meeting cannot switch encryption while it runs:
// meeting.UpdateSettings), in a breakout room, and where it has no
// recorder. The recording ends when stopped, when its starter leaves,
// when the room closes, or by itself at its limits.

// serverRecordStart bounds starting a server recording (a store write).
const serverRecordStart = 10 * time.Second

// RecordOnServer starts a server recording at a member's word.
func (r *Room) RecordOnServer(by meeting.ParticipantID, conn Conn) error {
	r.mu.Lock()
	rec, err := r.serverRecordCheckLocked(by, conn)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	r.recording = rec
	userID := rec.userID
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), serverRecordStart)
	id, stop, err := r.hub.opts.RecordOnServer(ctx, string(r.id), userID, r.router, func(reason string) { r.serverRecordingEnded(rec, reason) })
	cancel()

	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.recording == rec {
			r.recording = nil
		}
		r.log.Error("server recording", "err", err)
		return fmt.Errorf("%w: %s", ErrRecording, "the server could not start recording")
	}
	if r.recording != rec || r.closed {
		// Stopped, or the room closed, while it started.
		go stop()
		return nil
	}
	rec.id, rec.stop, rec.since = id, stop, time.Now()
	r.log.Info("server recording started", "by", by, "recording", id)
	r.broadcastLocked(r.recordingJSONLocked(), "")
	return nil
}

// serverRecordCheckLocked says whether by may start a server recording
// now, and returns its state, not yet started.
func (r *Room) serverRecordCheckLocked(by meeting.ParticipantID, conn Conn) (*recordingState, error) {
	if err := r.callerLocked(by, conn); err != nil {
		return nil, err
	}
	p, _ := r.core.Participant(by)
	switch {
	case p.Role != meeting.RoleHost && p.Role != meeting.RoleCoHost:
		return nil, meeting.ErrForbidden
	case r.e2eeOn():
		return nil, fmt.Errorf("%w: %s", ErrRecording, "this meeting is end-to-end encrypted: the server cannot record it (record in your browser instead)")
	case r.parent != nil:
		return nil, fmt.Errorf("%w: %s", ErrRecording, "the server records the main room only")
	case r.hub.opts.RecordOnServer == nil:
		return nil, fmt.Errorf("%w: %s", ErrRecording, "this server does not record meetings")
	case r.recording != nil:
		return nil, fmt.Errorf("%w: %s", ErrRecording, "a recording already runs")
	case p.Identity.UserID == "":
		return nil, fmt.Errorf("%w: %s", ErrRecording, "only a signed-in account can record")
	}
	return &recordingState{by: by, server: true, userID: p.Identity.UserID}, nil
}

// serverRecordingEnded: the recorder ended by itself (a limit, a
// failure); everyone is told.
func (r *Room) serverRecordingEnded(rec *recordingState, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recording != rec {
		return
	}
	rec.stop = nil // it has stopped
	r.log.Info("server recording ended by itself", "reason", reason)
	r.stopRecordingLocked(rec.by)
}

// stopServerRecordingLocked stops the server's recorder, if it records,
// without waiting for it to store the end.
func stopServerRecordingLocked(rec *recordingState) {
	if rec != nil && rec.stop != nil {
		go rec.stop()
		rec.stop = nil
	}
}
