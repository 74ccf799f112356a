package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// APIToken is an API token as stored (internal/httpapi/tokens.go): never
// the token itself, only its SHA-256.
type APIToken struct {
	ID   string
	Hash []byte // SHA-256 of the token
	// Kind is "personal" (an account's own) or "org" (made by an
	// administrator for the organisation; it acts with UserID's account).
	Kind      string
	UserID    string
	Name      string
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: no expiry
	LastUsed  time.Time // zero: never used
}

// The kinds of token.
const (
	TokenPersonal = "personal"
	TokenOrg      = "org"
)

const tokenColumns = `id, hash, kind, user_id, name, scopes, created_at, expires_at, last_used_at`

func scanToken(row scanner) (APIToken, error) {
	var t APIToken
	var scopes, created string
	var expires, used sql.NullString
	err := row.Scan(&t.ID, &t.Hash, &t.Kind, &t.UserID, &t.Name, &scopes, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	t.Scopes = strings.Fields(scopes)
	if t.CreatedAt, err = parseTime(created); err != nil {
		return t, err
	}
	if expires.Valid {
		if t.ExpiresAt, err = parseTime(expires.String); err != nil {
			return t, err
		}
	}
	if used.Valid {
		if t.LastUsed, err = parseTime(used.String); err != nil {
			return t, err
		}
	}
	return t, nil
}

// CreateAPIToken stores a new token and appends rec to the audit log in
// the same transaction. An account that no longer exists fails with
// ErrNotFound.
func (s *DB) CreateAPIToken(ctx context.Context, t APIToken, rec audit.Entry) error {
	return s.withAudit(ctx, &rec, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Hash, t.Kind, t.UserID, t.Name, strings.Join(t.Scopes, " "), formatTime(t.CreatedAt), nullTime(t.ExpiresAt), nullTime(t.LastUsed))
		if isForeignKey(err) {
			return ErrNotFound
		}
		return err
	})
}

// APITokenByHash finds a token by the SHA-256 of its text; ErrNotFound
// when there is none (never issued, revoked, or its account deleted).
func (s *DB) APITokenByHash(ctx context.Context, hash []byte) (APIToken, error) {
	return scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
}

// APITokens lists tokens newest first: an account's personal tokens
// (kind TokenPersonal), or every organisation token (kind TokenOrg; userID
// is ignored).
func (s *DB) APITokens(ctx context.Context, kind, userID string) ([]APIToken, error) {
	q, args := `SELECT `+tokenColumns+` FROM api_tokens WHERE kind = ? AND user_id = ? ORDER BY created_at DESC, id`, []any{kind, userID}
	if kind == TokenOrg {
		q, args = `SELECT `+tokenColumns+` FROM api_tokens WHERE kind = ? ORDER BY created_at DESC, id`, []any{kind}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken deletes a token of kind (for TokenPersonal, only one
// of userID's) and appends the entry rec makes of it, in one transaction;
// ErrNotFound when there is no such token.
func (s *DB) RevokeAPIToken(ctx context.Context, id, kind, userID string, rec func(APIToken) audit.Entry) error {
	return s.inTx(ctx, func(tx *txn) error {
		t, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = ? AND kind = ?`+s.forUpdate(), id, kind))
		if err != nil {
			return err
		}
		if kind == TokenPersonal && t.UserID != userID {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ?`, id); err != nil {
			return err
		}
		e := rec(t)
		return appendAudit(ctx, tx, &e)
	})
}

// TouchAPIToken notes a token's use (the caller does so at most once a
// minute per token).
func (s *DB) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, formatTime(at), id)
	return err
}
