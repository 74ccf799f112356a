package live

import (
	"errors"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// The room's side of end-to-end encryption: the meeting's MLS delivery
// service (internal/e2ee) wired to the members' connections. The server relays opaque
// MLS messages; only members' clients change the group.

// ErrE2EERequired refuses a joiner of an end-to-end encrypted meeting
// without a KeyPackage.
var ErrE2EERequired = errors.New("end-to-end encrypted meeting needs a key package")

// e2eeOn reports whether the meeting is end-to-end encrypted.
func (r *Room) e2eeOn() bool { return r.core.Settings().E2EE }

// e2eeAdmittedLocked enters an admitted participant's KeyPackage: they
// will create the group or be added to it.
func (r *Room) e2eeAdmittedLocked(pid meeting.ParticipantID) {
	m := r.members[pid]
	if !r.e2eeOn() || m == nil || len(m.keyPackage) == 0 {
		return
	}
	if err := r.group.Admitted(e2ee.Participant(pid), m.keyPackage, e2ee.Participant(m.admittedBy)); err != nil {
		r.log.Warn("e2ee admit", "participant", pid, "err", err)
	}
	m.keyPackage = nil
	r.e2eeStepLocked()
}

// e2eeLeftLocked takes a departed participant out of the group.
func (r *Room) e2eeLeftLocked(pid meeting.ParticipantID) {
	if !r.e2eeOn() {
		return
	}
	r.group.Left(e2ee.Participant(pid))
	r.e2eeStepLocked()
}

// e2eeStepLocked hands the next job (create, add, remove) to a member who
// is connected, and makes sure a stalled job is reassigned.
func (r *Room) e2eeStepLocked() {
	if !r.e2eeOn() || r.closed {
		return
	}
	available := func(p e2ee.Participant) bool {
		m := r.members[meeting.ParticipantID(p)]
		return m != nil && m.conn != nil && !m.waiting
	}
	if j := r.group.NextJob(available); j != nil {
		msg := wire.E2EEJob{Type: wire.TypeE2EEJob, Create: j.Create, Epoch: j.Epoch, Add: []wire.E2EEMember{}, Remove: []wire.E2EEMember{}}
		for _, a := range j.Add {
			msg.Add = append(msg.Add, wire.E2EEMember{Participant: string(a.ID), KeyPackage: a.KeyPackage})
		}
		for _, x := range j.Remove {
			msg.Remove = append(msg.Remove, wire.E2EEMember{Participant: string(x.ID), KeyPackage: x.KeyPackage})
		}
		r.members[meeting.ParticipantID(j.Committer)].conn.Send(msg)
		r.log.Debug("e2ee job", "committer", j.Committer, "create", j.Create, "epoch", j.Epoch, "add", len(j.Add), "remove", len(j.Remove))
	}
	if deadline, ok := r.group.Deadline(); ok && r.e2eeTimer == nil {
		r.e2eeTimer = time.AfterFunc(time.Until(deadline)+10*time.Millisecond, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.e2eeTimer = nil
			r.e2eeStepLocked()
		})
	}
}

// E2EECommit accepts a member's commit and relays it: the Commit to the
// other members, the Welcome to those added, a confirmation to the
// committer. A commit with a reason was made unasked: a key update, the
// removal of members who left the meeting, which only the room can tell,
// or the recording state, which only a member the room let record may
// commit beyond the bound on key updates (e2eeRecordingLocked). The relay carries the reason the server
// took it for, so that members check the commit is what it claims.
func (r *Room) E2EECommit(by meeting.ParticipantID, conn Conn, req *wire.ClientMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	if !r.e2eeOn() {
		return fmt.Errorf("%w: this meeting is not end-to-end encrypted", e2ee.ErrBadMessage)
	}
	var c e2ee.Commit
	var err error
	if req.Reason == "" {
		skipped := make([]e2ee.Participant, len(req.Skipped))
		for i, p := range req.Skipped {
			skipped[i] = e2ee.Participant(p)
		}
		c, err = r.group.CommitSkipping(e2ee.Participant(by), req.Epoch, req.Commit, req.Welcome, skipped)
	} else {
		in := e2ee.Initiative{Reason: e2ee.Reason(req.Reason)}
		for _, p := range req.Remove {
			in.Remove = append(in.Remove, e2ee.Participant(p))
		}
		// Someone reconnecting is still in the meeting: only leaving, or
		// the resume grace running out, takes them out of r.members.
		inMeeting := func(p e2ee.Participant) bool { return r.members[meeting.ParticipantID(p)] != nil }
		c, err = r.group.CommitInitiative(e2ee.Participant(by), req.Epoch, in, req.Commit, req.Welcome, inMeeting)
	}
	if err != nil {
		return err
	}
	for _, p := range c.Skipped {
		if m := r.members[meeting.ParticipantID(p)]; m != nil && m.conn != nil {
			m.conn.Send(wire.Error{Type: wire.TypeError, Code: wire.CodeE2EEKeyPackage, Message: "Your end-to-end encryption key package could not be used; reconnect with a fresh one."})
		}
	}
	if c.Commit == nil {
		r.log.Info("e2ee add job skipped every key package", "by", by, "skipped", len(c.Skipped))
		r.e2eeStepLocked()
		return nil
	}
	conn.Send(wire.E2EECommitOK{Type: wire.TypeE2EECommitOK, Epoch: c.Epoch})
	relay := wire.E2EECommit{Type: wire.TypeE2EECommit, Epoch: c.Epoch, From: string(by), Reason: string(c.Reason), Commit: c.Commit}
	for _, p := range c.To {
		if m := r.members[meeting.ParticipantID(p)]; m != nil && m.conn != nil {
			m.conn.Send(relay)
		}
	}
	for _, p := range c.Welcomed {
		if m := r.members[meeting.ParticipantID(p)]; m != nil && m.conn != nil {
			m.conn.Send(wire.E2EEWelcome{Type: wire.TypeE2EEWelcome, Epoch: c.Epoch, Welcome: c.Welcome})
		}
	}
	r.log.Info("e2ee commit", "by", by, "epoch", c.Epoch, "reason", req.Reason, "welcomed", len(c.Welcomed), "removed", len(c.Removed))
	r.e2eeStepLocked()
	return nil
}

// e2eeRecordingLocked: by starts recording, and its client may commit the
// recording state to the group (e2ee.ReasonRecording) a few times apart
// from its key updates: set, clear, set again if the group is made anew. What it may commit is
// checked by every member (web/src/e2ee/recording-state.ts): the server
// only bounds who and how often.
func (r *Room) e2eeRecordingLocked(by meeting.ParticipantID) {
	if r.e2eeOn() {
		r.group.AllowRecording(e2ee.Participant(by))
	}
}

// E2EEMessage relays an application message (chat, reactions, ...): to
// every member, or only to one. The server reads only the envelope; the
// kind lets it refuse chat from those the meeting does not let chat
// (receivers check again after decrypting). It returns the recipients
// whose outboxes are congested, for the sender to wait on
// (backpressure.go).
func (r *Room) E2EEMessage(by meeting.ParticipantID, conn Conn, epoch uint64, kind string, data []byte, to meeting.ParticipantID) ([]Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return nil, err
	}
	if kind == "chat" && !r.core.Can(by, meeting.ActChat) {
		return nil, fmt.Errorf("chat: %w", meeting.ErrForbidden)
	}
	recipients, err := r.group.Recipients(e2ee.Participant(by), e2ee.Participant(to), data)
	if err != nil {
		return nil, err
	}
	msg := wire.E2EEMessage{Type: wire.TypeE2EEMessage, From: string(by), Epoch: epoch, Kind: kind, Data: data, Private: to != ""}
	var slow []Conn
	for _, p := range recipients {
		if m := r.members[meeting.ParticipantID(p)]; m != nil && m.conn != nil {
			m.conn.Send(msg)
			if m.conn.Congested() {
				slow = append(slow, m.conn)
			}
		}
	}
	if r.hub.opts.RelayLog != nil {
		r.hub.opts.RelayLog(string(r.id), string(by), kind, data)
	}
	return slow, nil
}

// e2eeResumeLocked brings a returning member's MLS state up to date: the
// commits it missed, or, if it lost its state (a new KeyPackage) or is too
// far behind, a fresh add.
func (r *Room) e2eeResumeLocked(pid meeting.ParticipantID, conn Conn, hello *wire.ClientMessage) {
	if !r.e2eeOn() {
		return
	}
	p := e2ee.Participant(pid)
	if r.group.Rejoining(p) {
		r.e2eeStepLocked() // e2eeClaimLocked has them added anew
		return
	}
	if r.group.IsMember(p) && hello.E2EEEpoch != nil {
		if commits, ok := r.group.Since(*hello.E2EEEpoch); ok {
			for _, c := range commits {
				if c.From == p {
					conn.Send(wire.E2EECommitOK{Type: wire.TypeE2EECommitOK, Epoch: c.Epoch})
				} else {
					conn.Send(wire.E2EECommit{Type: wire.TypeE2EECommit, Epoch: c.Epoch, From: string(c.From), Reason: string(c.Reason), Commit: c.Commit})
				}
			}
			r.e2eeStepLocked()
			return
		}
	}
	if len(hello.KeyPackage) > 0 {
		r.members[pid].keyPackage = hello.KeyPackage
		r.e2eeAdmittedLocked(pid)
		return
	}
	r.e2eeStepLocked()
}

// e2eeClaimLocked, before the welcome of a member the room was restored
// with (kept.go: the meeting's node died, or the server restarted),
// continues the meeting's group from what its client holds (e2ee.Resume):
// the epoch its hello proves, or nothing. The welcome then says whether it
// continues (e2eeContinuedLocked) or must leave its group to be added anew
// (e2eeRestartLocked).
func (r *Room) e2eeClaimLocked(pid meeting.ParticipantID, hello *wire.ClientMessage) {
	m := r.members[pid]
	if !r.e2eeOn() || m == nil || !m.restored || len(hello.KeyPackage) == 0 || r.group.IsMember(e2ee.Participant(pid)) {
		return
	}
	var claim *e2ee.Claim
	if hello.E2EEEpoch != nil && len(hello.E2EEProof) > 0 {
		claim = &e2ee.Claim{Epoch: *hello.E2EEEpoch, Proof: hello.E2EEProof}
	}
	if claim == nil && !r.group.Resumed() {
		return // a joiner as before (e2eeResumeLocked), added by whoever admitted them
	}
	continued, err := r.group.Resume(e2ee.Participant(pid), claim, hello.KeyPackage)
	if err != nil {
		r.log.Warn("e2ee resume", "participant", pid, "err", err)
		return
	}
	r.log.Info("e2ee group resumed", "participant", pid, "claimed", claim != nil, "continued", continued, "epoch", r.group.Epoch())
}

// e2eeContinuedLocked is welcome's e2eeEpoch: for a restored member who
// continues the group, the epoch it continues at (the one it proved).
func (r *Room) e2eeContinuedLocked(pid meeting.ParticipantID, resumed bool) *uint64 {
	m := r.members[pid]
	if !resumed || m == nil || !m.restored || !r.e2eeOn() || !r.group.Continues(e2ee.Participant(pid)) {
		return nil
	}
	e := r.group.ResumedAt()
	return &e
}

// e2eeRestoredLocked: the room was opened with these members of an
// earlier run or of a node that died, whose group the server lost. Until
// they are back or gone (at most e2ee.ClaimWait), nobody creates a fresh
// group: those who hold the old one may continue it (e2eeClaimLocked).
func (r *Room) e2eeRestoredLocked(restored []meeting.ParticipantID) {
	if !r.e2eeOn() || len(restored) == 0 {
		return
	}
	ps := make([]e2ee.Participant, len(restored))
	for i, p := range restored {
		ps[i] = e2ee.Participant(p)
	}
	r.group.Expect(ps)
}
