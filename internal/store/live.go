package store

import (
	"context"
	"encoding/json"
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

// StartRun makes run one of the runs keeping live meetings: one a
// running server, as several servers (cluster nodes) may share the
// database. What a run kept stays while that run is alive, and after it
// stopped being alive for window (a crash or restart whose people are
// still reconnecting, here or on another node); older than that, it goes,
// with the run.
func (s *DB) StartRun(ctx context.Context, run string, now time.Time, window time.Duration) error {
	return s.inTx(ctx, func(tx *txn) error {
		if _, err := forgetDead(ctx, tx, run, now, window); err != nil {
			return err
		}
		return aliveIn(ctx, tx, run, now)
	})
}

// RunAlive records that run is still alive.
func (s *DB) RunAlive(ctx context.Context, run string, now time.Time) error {
	return s.inTx(ctx, func(tx *txn) error { return aliveIn(ctx, tx, run, now) })
}

func aliveIn(ctx context.Context, tx *txn, run string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO live_run (run, alive_at) VALUES (?, ?)
		ON CONFLICT (run) DO UPDATE SET alive_at = excluded.alive_at`, run, formatTime(now))
	return err
}

// ForgetEarlierRuns drops what runs other than run kept and nobody came
// back for: the rows of runs not alive within window (crashed or stopped
// servers), and those runs. Another server's live run keeps its rows. It
// returns how many participants it forgot.
func (s *DB) ForgetEarlierRuns(ctx context.Context, run string, now time.Time, window time.Duration) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *txn) error {
		var err error
		n, err = forgetDead(ctx, tx, run, now, window)
		return err
	})
	return n, err
}

// forgetDead removes, in tx, the runs other than run that were last alive
// more than window before now, their rows, and rows of runs not recorded
// at all.
func forgetDead(ctx context.Context, tx *txn, run string, now time.Time, window time.Duration) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT run, alive_at FROM live_run WHERE run != ?`, run)
	if err != nil {
		return 0, err
	}
	var dead []string
	for rows.Next() {
		var r, alive string
		if err := rows.Scan(&r, &alive); err != nil {
			rows.Close()
			return 0, err
		}
		if t, err := parseTime(alive); err != nil || now.Sub(t) > window {
			dead = append(dead, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var n int64
	for _, r := range dead {
		res, err := tx.ExecContext(ctx, `DELETE FROM live_participants WHERE run = ?`, r)
		if err != nil {
			return 0, err
		}
		k, _ := res.RowsAffected()
		n += k
		if _, err := tx.ExecContext(ctx, `DELETE FROM live_run WHERE run = ?`, r); err != nil {
			return 0, err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM live_participants WHERE run != ? AND run NOT IN (SELECT run FROM live_run)`, run)
	if err != nil {
		return 0, err
	}
	k, _ := res.RowsAffected()
	return n + k, nil
}
