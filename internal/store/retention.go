package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// Retention (auth.RetentionStore): deleting what is past the
// organisation's limits, each call one bounded transaction.

// MarkMeetingUsed notes that someone asked to join a meeting at at (a
// meeting is deleted some time after its last use). The write is skipped
// when the meeting was marked less than an hour before.
func (s *DB) MarkMeetingUsed(ctx context.Context, id meeting.ID, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.d.pick(`UPDATE meetings SET last_used_at = ?1
		WHERE id = ?2 AND (last_used_at IS NULL OR julianday(last_used_at) < julianday(?1) - 1.0/24)`,
		`UPDATE meetings SET last_used_at = ?1
		WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at::timestamptz < ?1::text::timestamptz - interval '1 hour')`),
		formatTime(at), string(id))
	return err
}

// DeleteOldMeetings deletes up to limit instant and scheduled meetings
// created and last used before cut (a scheduled one also planned to end
// before it), never a personal room, a meeting whose participants the
// server keeps (someone is in it), or one in skip. Bans go with them.
func (s *DB) DeleteOldMeetings(ctx context.Context, cut time.Time, skip []string, limit int) (int64, error) {
	if skip == nil {
		skip = []string{}
	}
	ids, err := json.Marshal(skip)
	if err != nil {
		return 0, err
	}
	n, err := s.execLocked(ctx, s.d.pick(`DELETE FROM meetings WHERE id IN (
		SELECT id FROM meetings
		WHERE kind != 'personal'
		  AND julianday(created_at) < julianday(?1)
		  AND (last_used_at IS NULL OR julianday(last_used_at) < julianday(?1))
		  AND (kind != 'scheduled' OR starts_at IS NULL OR julianday(starts_at) + duration_s / 86400.0 < julianday(?1))
		  AND id NOT IN (SELECT meeting_id FROM live_participants)
		  AND id NOT IN (SELECT value FROM json_each(?2))
		LIMIT ?3)`, `DELETE FROM meetings WHERE id IN (
		SELECT id FROM meetings
		WHERE kind != 'personal'
		  AND created_at::timestamptz < ?1::text::timestamptz
		  AND (last_used_at IS NULL OR last_used_at::timestamptz < ?1::text::timestamptz)
		  AND (kind != 'scheduled' OR starts_at IS NULL OR starts_at::timestamptz + duration_s * interval '1 second' < ?1::text::timestamptz)
		  AND id NOT IN (SELECT meeting_id FROM live_participants)
		  AND id NOT IN (SELECT json_array_elements_text(?2::text::json))
		LIMIT ?3)`), formatTime(cut), string(ids), limit)
	if err != nil {
		return 0, fmt.Errorf("delete old meetings: %w", err)
	}
	return n, nil
}

// DeleteEndedSessions deletes up to limit sessions that ended before cut:
// past their expiry, or unused for idle since they were last seen.
func (s *DB) DeleteEndedSessions(ctx context.Context, cut time.Time, idle time.Duration, limit int) (int64, error) {
	n, err := s.execLocked(ctx, s.d.pick(`DELETE FROM sessions WHERE hash IN (
		SELECT hash FROM sessions
		WHERE julianday(expires_at) < julianday(?1) OR julianday(last_seen) + ?2 < julianday(?1)
		LIMIT ?3)`, `DELETE FROM sessions WHERE hash IN (
		SELECT hash FROM sessions
		WHERE expires_at::timestamptz < ?1::text::timestamptz
		   OR last_seen::timestamptz + ?2::float8 * interval '1 day' < ?1::text::timestamptz
		LIMIT ?3)`), formatTime(cut), idle.Hours()/24, limit)
	if err != nil {
		return 0, fmt.Errorf("delete ended sessions: %w", err)
	}
	return n, nil
}

// auditNoDelete is the guard against deleting audit entries, as
// migration 0004 made it in SQLite; PruneAudit lifts it inside its
// transaction. In PostgreSQL it disables the trigger and enables it again
// instead, in the same transaction (DDL is transactional there, and the
// table stays locked against other writers until the commit).
const auditNoDelete = `CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END`

// PruneAudit deletes the oldest audit entries made before before, at most
// limit, keeping the chain verifiable: in one transaction it appends the
// anchor that anchor makes for the last entry deleted (an AuditPruned
// entry vouching for its number and hash), lifts the guard trigger,
// deletes the entries and puts the guard back. Only whole runs from the
// start of the log are deleted, never an entry made at or after before.
// It returns how many entries it deleted.
func (s *DB) PruneAudit(ctx context.Context, before time.Time, limit int, anchor func(last audit.Entry, count int64) audit.Entry) (int64, error) {
	var count int64
	err := s.inTx(ctx, func(tx *txn) error {
		var first, newest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MIN(seq), MAX(seq) FROM audit_log`).Scan(&first, &newest); err != nil {
			return err
		}
		if !first.Valid {
			return nil
		}
		var young sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MIN(seq) FROM audit_log WHERE at_ms >= ?`, before.UnixMilli()).Scan(&young); err != nil {
			return err
		}
		through := newest.Int64
		if young.Valid {
			through = young.Int64 - 1
		}
		through = min(through, first.Int64+int64(limit)-1)
		if through < first.Int64 {
			return nil
		}
		last := audit.Entry{Seq: through}
		var hash []byte
		if err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, through).Scan(&hash); err != nil {
			return fmt.Errorf("entry %d: %w", through, err)
		}
		if len(hash) != audit.HashSize {
			return fmt.Errorf("entry %d has a %d-byte hash", through, len(hash))
		}
		copy(last.Hash[:], hash)
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE seq <= ?`, through).Scan(&count); err != nil {
			return err
		}
		if count != through-first.Int64+1 {
			return fmt.Errorf("entries %d to %d are not all there (%d stored)", first.Int64, through, count)
		}
		e := anchor(last, count)
		if e.Action != audit.AuditPruned {
			return errors.New("the anchor must be an audit.pruned entry")
		}
		if err := appendAudit(ctx, tx, &e); err != nil {
			return err
		}
		del := `DELETE FROM audit_log WHERE seq <= ?`
		steps := []string{`DROP TRIGGER audit_log_no_delete`, del, auditNoDelete}
		if s.d.postgres {
			steps = []string{`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_delete`, del,
				`ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_delete`}
		}
		for _, q := range steps {
			var args []any
			if q == del {
				args = []any{through}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune audit log: %w", err)
	}
	return count, nil
}
