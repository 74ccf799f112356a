package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// IngestToken is a meeting's WHIP ingest token as stored (internal/whip):
// never the token itself, only its SHA-256.
type IngestToken struct {
	ID        string
	MeetingID string
	Hash      []byte // SHA-256 of the token
	// Name is what the source is called in the meeting's roster.
	Name      string
	CreatedBy string // the account that made it
	CreatedAt time.Time
	LastUsed  time.Time // zero: never used
	// Kind is IngestKindWHIP (streams in; the default when empty) or
	// IngestKindWHEP (watches the meeting, internal/whip's whep.go).
	Kind string
}

// The kinds of ingest token.
const (
	IngestKindWHIP = "whip"
	IngestKindWHEP = "whep"
)

const ingestColumns = `id, meeting_id, hash, name, created_by, created_at, last_used_at, kind`

func scanIngestToken(row scanner) (IngestToken, error) {
	var t IngestToken
	var created string
	var used sql.NullString
	err := row.Scan(&t.ID, &t.MeetingID, &t.Hash, &t.Name, &t.CreatedBy, &created, &used, &t.Kind)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	if t.CreatedAt, err = parseTime(created); err != nil {
		return t, err
	}
	if used.Valid {
		if t.LastUsed, err = parseTime(used.String); err != nil {
			return t, err
		}
	}
	return t, nil
}

// CreateIngestToken stores a new ingest token and appends rec to the
// audit log in the same transaction. A meeting or account that no longer
// exists fails with ErrNotFound.
func (s *DB) CreateIngestToken(ctx context.Context, t IngestToken, rec audit.Entry) error {
	if t.Kind == "" {
		t.Kind = IngestKindWHIP
	}
	return s.withAudit(ctx, &rec, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO ingest_tokens (`+ingestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.MeetingID, t.Hash, t.Name, t.CreatedBy, formatTime(t.CreatedAt), nullTime(t.LastUsed), t.Kind)
		if isForeignKey(err) {
			return ErrNotFound
		}
		return err
	})
}

// IngestTokenByHash finds a token by the SHA-256 of its text; ErrNotFound
// when there is none (never issued, revoked, or its meeting or maker
// deleted).
func (s *DB) IngestTokenByHash(ctx context.Context, hash []byte) (IngestToken, error) {
	return scanIngestToken(s.db.QueryRowContext(ctx, `SELECT `+ingestColumns+` FROM ingest_tokens WHERE hash = ?`, hash))
}

// IngestTokens lists a meeting's ingest tokens, oldest first.
func (s *DB) IngestTokens(ctx context.Context, meetingID string) ([]IngestToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+ingestColumns+` FROM ingest_tokens WHERE meeting_id = ? ORDER BY created_at, id`, meetingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []IngestToken
	for rows.Next() {
		t, err := scanIngestToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeIngestToken deletes one of a meeting's ingest tokens and appends
// the entry rec makes of it, in one transaction; ErrNotFound when the
// meeting has no such token.
func (s *DB) RevokeIngestToken(ctx context.Context, meetingID, id string, rec func(IngestToken) audit.Entry) error {
	return s.inTx(ctx, func(tx *txn) error {
		t, err := scanIngestToken(tx.QueryRowContext(ctx, `SELECT `+ingestColumns+` FROM ingest_tokens WHERE id = ? AND meeting_id = ?`+s.forUpdate(), id, meetingID))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ingest_tokens WHERE id = ?`, id); err != nil {
			return err
		}
		e := rec(t)
		return appendAudit(ctx, tx, &e)
	})
}

// TouchIngestToken notes a token's use (a session begun with it).
func (s *DB) TouchIngestToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE ingest_tokens SET last_used_at = ? WHERE id = ?`, formatTime(at), id)
	return err
}
