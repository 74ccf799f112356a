package live

import (
	"context"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// Host controls. Each checks the caller's permission in the meeting core
// (which refuses with meeting.ErrForbidden) and then makes the SFU and
// every client follow. conn is the caller's connection: a call from one
// that is no longer theirs (replaced by a resume) is refused with
// ErrNotAdmitted. Nothing here trusts a client to obey: a muted
// participant's microphone stops being forwarded whatever its client does.

// callerLocked checks that by is an admitted member on conn.
func (r *Room) callerLocked(by meeting.ParticipantID, conn Conn) error {
	if m := r.members[by]; m == nil || m.conn != conn || m.waiting {
		return ErrNotAdmitted
	}
	return nil
}

func (r *Room) nameOfLocked(pid meeting.ParticipantID) string {
	p, _ := r.core.Participant(pid)
	return p.Name
}

// Admit lets one person (or everyone) in from the waiting room.
func (r *Room) Admit(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, all bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	var admitted []meeting.Participant
	if all {
		ps, err := r.core.AdmitAll(by)
		if err != nil {
			return err
		}
		admitted = ps
	} else {
		p, err := r.core.Admit(by, target)
		if err != nil {
			return err
		}
		admitted = []meeting.Participant{p}
	}
	r.log.Info("admitted from the waiting room", "by", by, "count", len(admitted))
	for _, p := range admitted {
		if m := r.members[p.ID]; m != nil {
			m.admittedBy = by
		}
	}
	r.afterSettleLocked(meeting.JoinResult{Admitted: admitted})
	return nil
}

// Deny turns one person (or everyone) away from the waiting room.
func (r *Room) Deny(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, all bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	var denied []meeting.Participant
	if all {
		ps, err := r.core.DenyAll(by)
		if err != nil {
			return err
		}
		denied = ps
	} else {
		p, err := r.core.Deny(by, target)
		if err != nil {
			return err
		}
		denied = []meeting.Participant{p}
	}
	for _, p := range denied {
		if m := r.members[p.ID]; m != nil {
			delete(r.members, p.ID)
			if m.conn != nil {
				m.conn.Close(Refused(wire.CodeDenied, "The host did not let you into this meeting."))
			}
		}
	}
	r.log.Info("denied entry", "by", by, "count", len(denied))
	r.sendWaitingRoomLocked()
	return nil
}

// Remove takes a participant out, optionally barring them from coming back.
func (r *Room) Remove(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, ban bool) error {
	r.mu.Lock()
	p, bans, err := r.removeCoreLocked(by, conn, target, ban)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if len(bans) > 0 {
		r.persist("bans", func(ctx context.Context) error { return r.hub.opts.Meetings.AddBans(ctx, r.id, bans) })
	}
	r.log.Info("participant removed", "by", by, "participant", p.ID, "banned", ban)
	return nil
}

func (r *Room) removeCoreLocked(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, ban bool) (meeting.Participant, []meeting.Ban, error) {
	if err := r.callerLocked(by, conn); err != nil {
		return meeting.Participant{}, nil, err
	}
	p, bans, err := r.core.Remove(by, target, ban)
	if err != nil {
		return p, nil, err
	}
	m := r.members[p.ID]
	delete(r.members, p.ID)
	r.unkeepLocked(p.ID)
	r.usageGoneLocked(p.ID)
	r.recorderGoneLocked(p.ID)
	// The others learn that they left before a member is asked to remove
	// their leaf: a client removes only someone no longer in the meeting.
	defer r.e2eeLeftLocked(p.ID)
	if m != nil {
		if m.grace != nil {
			m.grace.Stop()
		}
		if m.peer != nil {
			r.router.RemovePeer(string(p.ID))
		}
		if m.conn != nil {
			msg := "A host removed you from this meeting."
			if ban {
				msg = "A host removed you from this meeting. You cannot rejoin it."
			}
			m.conn.Close(Closed(wire.ClosedRemoved, msg))
		}
		if m.waiting {
			r.sendWaitingRoomLocked()
		} else {
			r.broadcastLocked(wire.ParticipantLeft{Type: wire.TypeParticipantLeft, ID: string(p.ID), Reason: wire.LeftRemoved}, p.ID)
		}
	}
	return p, bans, nil
}

// Mute mutes one participant, or with all everyone but the moderators.
func (r *Room) Mute(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, all bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	var muted []meeting.Participant
	if all {
		ps, err := r.core.MuteAll(by)
		if err != nil {
			return err
		}
		muted = ps
	} else {
		p, err := r.core.Mute(by, target)
		if err != nil {
			return err
		}
		muted = []meeting.Participant{p}
	}
	for _, p := range muted {
		r.stoppedLocked(p, sfu.SourceMicrophone, by)
	}
	return nil
}

// StopVideo stops a participant's camera or screen share.
func (r *Room) StopVideo(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, screen bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	p, err := r.core.StopVideo(by, target, screen)
	if err != nil {
		return err
	}
	source := sfu.SourceCamera
	if screen {
		source = sfu.SourceScreen
	}
	r.stoppedLocked(p, source, by)
	return nil
}

// stoppedLocked enforces a host's stop at the SFU, tells the participant
// (so their client turns the device off) and updates everyone's roster.
func (r *Room) stoppedLocked(p meeting.Participant, source sfu.Source, by meeting.ParticipantID) {
	r.applyBlocksLocked(p.ID)
	if m := r.members[p.ID]; m != nil && m.conn != nil {
		m.conn.Send(wire.MediaStopped{Type: wire.TypeMediaStopped, Source: string(source), By: r.nameOfLocked(by)})
	}
	r.broadcastLocked(wire.ParticipantEvent{Type: wire.TypeParticipantUpdated, Participant: toParticipantJSON(p)}, "")
}

// Rename changes a display name.
func (r *Room) Rename(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	p, err := r.core.Rename(by, target, name)
	if err != nil {
		return err
	}
	r.keepLocked(target)
	r.broadcastLocked(wire.ParticipantEvent{Type: wire.TypeParticipantUpdated, Participant: toParticipantJSON(p)}, "")
	return nil
}

// SetRole makes a participant a co-host or takes it back.
func (r *Room) SetRole(by meeting.ParticipantID, conn Conn, target meeting.ParticipantID, role meeting.Role) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	res, err := r.core.SetRole(by, target, role)
	if err != nil {
		return err
	}
	r.keepLocked(target)
	r.applyBlocksLocked(target)
	r.broadcastLocked(wire.ParticipantEvent{Type: wire.TypeParticipantUpdated, Participant: toParticipantJSON(res.Participant)}, "")
	if m := r.members[target]; m != nil && m.conn != nil && role == meeting.RoleCoHost {
		r.sendWaitingRoomTo(m.conn)
	}
	r.afterSettleLocked(res)
	return nil
}

// UpdateSettings replaces the meeting's settings (lock is one of them).
func (r *Room) UpdateSettings(by meeting.ParticipantID, conn Conn, change func(*meeting.Settings)) error {
	r.mu.Lock()
	set := r.core.Settings()
	change(&set)
	err := r.updateSettingsLocked(by, conn, set)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	// A host's lock is for this session of the meeting only; the store
	// keeps an administrator's lock until this unlocks (stored &&
	// set.Locked); the rest is saved.
	r.persist("settings", func(ctx context.Context) error { return r.hub.opts.Meetings.SaveSettings(ctx, r.id, set) })
	return nil
}

func (r *Room) updateSettingsLocked(by meeting.ParticipantID, conn Conn, set meeting.Settings) error {
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	if err := r.hub.countryRuleSettable(r.core.Settings().Country, set.Country); err != nil {
		return err
	}
	before := r.core.Settings().Regions
	res, err := r.core.UpdateSettings(by, set)
	if err != nil {
		return err
	}
	r.regionsChangedLocked(before) // elsewhere.go
	for pid := range r.members {
		r.applyBlocksLocked(pid)
	}
	r.broadcastLocked(wire.SettingsUpdate{Type: wire.TypeSettings, Settings: r.core.Settings()}, "")
	r.dropSourcesLocked() // ingest.go
	r.afterSettleLocked(res)
	r.log.Info("settings changed", "by", by, "locked", set.Locked)
	return nil
}

// end ends the meeting for everyone.
func (r *Room) end(by meeting.ParticipantID, conn Conn) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.callerLocked(by, conn); err != nil {
		return err
	}
	if err := r.core.CheckEnd(by); err != nil {
		return err
	}
	r.endLocked(by, hostEnded)
	return nil
}

// hostEnded is what everyone is told when a host ends the meeting.
const hostEnded = "The host ended the meeting for everyone."

// endLocked ends the meeting for everyone, in the main room and in every
// breakout room, telling them message; by is the host who ended it, or
// empty when an administrator did.
func (r *Room) endLocked(by meeting.ParticipantID, message string) {
	for _, m := range r.members {
		if m.conn != nil {
			m.conn.Close(Closed(wire.ClosedEnded, message))
		}
	}
	if b := r.breakouts; b != nil {
		for _, room := range b.rooms {
			room.mu.Lock()
			for _, m := range room.members {
				if m.conn != nil {
					m.conn.Close(Closed(wire.ClosedEnded, message))
				}
			}
			room.mu.Unlock()
		}
	}
	r.log.Info("meeting ended for everyone", "by", by)
	r.unkeepLocked("")
	r.members = make(map[meeting.ParticipantID]*member)
	r.closeLocked()
}

// End ends the meeting for everyone at a host's word, from the main room
// or from a breakout room (then every room ends with it).
func (r *Room) End(by meeting.ParticipantID, conn Conn) error {
	if r.parent != nil {
		return r.endFromBreakout(by, conn)
	}
	return r.end(by, conn)
}
