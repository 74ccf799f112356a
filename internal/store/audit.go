package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// appendAudit seals e after the current head and inserts it, inside tx:
// the caller's action and its audit entry commit together or not at all.
// Transactions begin IMMEDIATE (see the DSN), so two writers never read
// the same head.
func appendAudit(ctx context.Context, tx *txn, e *audit.Entry) error {
	var prev *audit.Entry
	var seq int64
	var hash []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("audit head: %w", err)
	case len(hash) != audit.HashSize:
		return fmt.Errorf("audit head: entry %d has a %d-byte hash", seq, len(hash))
	default:
		prev = &audit.Entry{Seq: seq}
		copy(prev.Hash[:], hash)
	}
	if err := audit.Seal(e, prev); err != nil {
		return err
	}
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	d, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log
		(seq, at_ms, actor_kind, actor_id, action, subject_kind, subject_id, reason, details, prev, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.Time.UnixMilli(), string(e.ActorKind), e.ActorID, string(e.Action), string(e.SubjectKind), e.SubjectID,
		e.Reason, string(d), e.Prev[:], e.Hash[:])
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	return nil
}

// withAudit runs f and appends e in one transaction; with a nil e it
// only runs f.
func (s *DB) withAudit(ctx context.Context, e *audit.Entry, f func(*txn) error) error {
	return s.inTx(ctx, func(tx *txn) error {
		if err := f(tx); err != nil {
			return err
		}
		if e == nil {
			return nil
		}
		return appendAudit(ctx, tx, e)
	})
}

// AppendAudit records an action that changes nothing else in the
// database (a server start, an operator's read) and returns the sealed
// entry.
func (s *DB) AppendAudit(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	err := s.inTx(ctx, func(tx *txn) error { return appendAudit(ctx, tx, &e) })
	return e, err
}

// AppendAuditOnce appends e unless an entry of the same action about the
// same subject was made at or after since, and reports whether it did;
// the check and the append are one (IMMEDIATE) transaction, so requests
// at the same moment append one entry between them.
func (s *DB) AppendAuditOnce(ctx context.Context, e audit.Entry, since time.Time) (audit.Entry, bool, error) {
	appended := false
	err := s.inTx(ctx, func(tx *txn) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log
			WHERE subject_kind = ? AND subject_id = ? AND action = ? AND at_ms >= ?`,
			string(e.SubjectKind), e.SubjectID, string(e.Action), since.UnixMilli()).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		appended = true
		return appendAudit(ctx, tx, &e)
	})
	return e, appended && err == nil, err
}

const auditColumns = `seq, at_ms, actor_kind, actor_id, action, subject_kind, subject_id, reason, details, prev, hash`

// AuditEntries returns up to limit entries after seq after, in order.
func (s *DB) AuditEntries(ctx context.Context, after int64, limit int) ([]audit.Entry, error) {
	return s.queryAudit(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
}

// AuditBefore returns up to limit entries before seq before, newest
// first. It relies on no numbering: after retention deleted the oldest
// entries, numbers start later than 1.
func (s *DB) AuditBefore(ctx context.Context, before int64, limit int) ([]audit.Entry, error) {
	return s.queryAudit(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?`, before, limit)
}

// queryAudit runs a query over audit_log's columns and reads its rows.
func (s *DB) queryAudit(ctx context.Context, query string, args ...any) ([]audit.Entry, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditAboutUser returns the newest entries (up to limit) about an account
// or a meeting it owns, newest first: what a person is shown of the
// administrative actions that affected them.
func (s *DB) AuditAboutUser(ctx context.Context, userID string, limit int) ([]audit.Entry, error) {
	return s.queryAudit(ctx, `SELECT `+auditColumns+` FROM audit_log
		WHERE (subject_kind = 'user' AND subject_id = ?)
		   OR (subject_kind = 'meeting' AND subject_id IN (SELECT id FROM meetings WHERE owner_id = ?))
		ORDER BY seq DESC LIMIT ?`, userID, userID, limit)
}

// scanAudit reads a row as stored. A row that cannot be read as an entry
// (a hash of the wrong size, details that are not a JSON object of
// strings) is returned as far as it reads, with its stored hash zeroed,
// so that verification names it rather than the reading failing.
func scanAudit(row scanner) (audit.Entry, error) {
	var e audit.Entry
	var at int64
	var actorKind, action, subjectKind, details string
	var prev, hash []byte
	if err := row.Scan(&e.Seq, &at, &actorKind, &e.ActorID, &action, &subjectKind, &e.SubjectID, &e.Reason, &details, &prev, &hash); err != nil {
		return e, err
	}
	e.Time = time.UnixMilli(at).UTC()
	e.ActorKind, e.Action, e.SubjectKind = audit.ActorKind(actorKind), audit.Action(action), audit.SubjectKind(subjectKind)
	if err := json.Unmarshal([]byte(details), &e.Details); err != nil || len(prev) != audit.HashSize || len(hash) != audit.HashSize {
		return e, nil
	}
	if len(e.Details) == 0 {
		e.Details = nil
	}
	copy(e.Prev[:], prev)
	copy(e.Hash[:], hash)
	return e, nil
}
