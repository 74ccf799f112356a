package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// keptState is the JSON of live_participants.state.
type keptState struct {
	Name       string    `json:"name"`
	Role       string    `json:"role"`
	UserID     string    `json:"userId,omitempty"`
	Device     string    `json:"device,omitempty"`
	Addr       string    `json:"addr,omitempty"`
	JoinedAt   time.Time `json:"joinedAt"`
	AdmittedBy string    `json:"admittedBy,omitempty"`
	Muted      bool      `json:"mutedByHost,omitempty"`
}

// SaveKept records (or replaces) someone in a live meeting, for run.
func (s *DB) SaveKept(ctx context.Context, id meeting.ID, k meeting.Kept, run string) error {
	p := k.Participant
	st := keptState{Name: p.Name, Role: string(p.Role), UserID: p.Identity.UserID, Device: p.Identity.Device,
		JoinedAt: p.JoinedAt.UTC(), AdmittedBy: string(k.AdmittedBy), Muted: p.MutedByHost}
	if p.Identity.Addr.IsValid() {
		st.Addr = p.Identity.Addr.String()
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO live_participants (meeting_id, participant_id, resume_hash, state, run)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (meeting_id, participant_id) DO UPDATE SET resume_hash = excluded.resume_hash, state = excluded.state, run = excluded.run`,
		string(id), string(p.ID), k.ResumeHash[:], string(b), run)
	if err != nil && !isForeignKey(err) {
		return fmt.Errorf("keep %s in %s: %w", p.ID, id, err)
	}
	return nil // a meeting deleted meanwhile keeps nobody
}

// DeleteKept forgets someone who left a live meeting; with pid "",
// everyone in it (the meeting ended).
func (s *DB) DeleteKept(ctx context.Context, id meeting.ID, pid meeting.ParticipantID) error {
	var err error
	if pid == "" {
		_, err = s.db.ExecContext(ctx, `DELETE FROM live_participants WHERE meeting_id = ?`, string(id))
	} else {
		_, err = s.db.ExecContext(ctx, `DELETE FROM live_participants WHERE meeting_id = ? AND participant_id = ?`, string(id), string(pid))
	}
	return err
}

// KeptBefore returns who was in a meeting according to runs other than
// run: what a restarted server lets back in.
func (s *DB) KeptBefore(ctx context.Context, id meeting.ID, run string) ([]meeting.Kept, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT participant_id, resume_hash, state FROM live_participants
		WHERE meeting_id = ? AND run != ? ORDER BY rowid`, string(id), run)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meeting.Kept
	for rows.Next() {
		var (
			pid, state string
			hash       []byte
			st         keptState
		)
		if err := rows.Scan(&pid, &hash, &state); err != nil {
			return nil, err
		}
		if len(hash) != 32 || json.Unmarshal([]byte(state), &st) != nil {
			continue // not ours to guess at: they join afresh
		}
		k := meeting.Kept{AdmittedBy: meeting.ParticipantID(st.AdmittedBy), Participant: meeting.Participant{
			ID: meeting.ParticipantID(pid), Name: st.Name, Role: meeting.Role(st.Role), JoinedAt: st.JoinedAt, MutedByHost: st.Muted,
			Identity: meeting.Identity{UserID: st.UserID, Device: st.Device},
		}}
		copy(k.ResumeHash[:], hash)
		if a, err := netip.ParseAddr(st.Addr); err == nil {
			k.Participant.Identity.Addr = a
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// StartRun makes run the one keeping live meetings. What an earlier run
// kept stays only if that run was alive within window (a crash or restart
// its people are still reconnecting through); otherwise it goes.
func (s *DB) StartRun(ctx context.Context, run string, now time.Time, window time.Duration) error {
	return s.inTx(ctx, func(tx *txn) error {
		var alive string
		err := tx.QueryRowContext(ctx, `SELECT alive_at FROM live_run WHERE id = 1`+tx.d.pick("", " FOR UPDATE")).Scan(&alive)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			if t, err := parseTime(alive); err != nil || now.Sub(t) > window {
				if _, err := tx.ExecContext(ctx, `DELETE FROM live_participants`); err != nil {
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO live_run (id, run, alive_at) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET run = excluded.run, alive_at = excluded.alive_at`, run, formatTime(now))
		return err
	})
}

// RunAlive records that run is still alive.
func (s *DB) RunAlive(ctx context.Context, run string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE live_run SET alive_at = ? WHERE id = 1 AND run = ?`, formatTime(now), run)
	return err
}

// ForgetEarlierRuns drops what runs other than run kept and nobody came
// back for.
func (s *DB) ForgetEarlierRuns(ctx context.Context, run string) (int64, error) {
	return s.execLocked(ctx, `DELETE FROM live_participants WHERE run != ?`, run)
}
