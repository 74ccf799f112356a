package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

// The auth.PasskeyStore methods (migration 0010).

var _ auth.PasskeyStore = (*DB)(nil)

// AddPasskey stores a passkey and its audit entry in one transaction.
func (s *DB) AddPasskey(ctx context.Context, p auth.Passkey, rec audit.Entry) error {
	err := s.withAudit(ctx, &rec, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO passkeys (id, user_id, name, credential, created_at) VALUES (?, ?, ?, ?, ?)`,
			p.ID, p.UserID, p.Name, string(p.Credential), formatTime(p.CreatedAt))
		return err
	})
	if isPasskeyTaken(err) {
		return auth.ErrPasskeyRegistered
	}
	if isForeignKey(err) {
		return auth.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("add passkey: %w", err)
	}
	return nil
}

// isPasskeyTaken reports whether err is the passkeys primary key failing.
func isPasskeyTaken(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505" && pg.TableName == "passkeys"
	}
	return err != nil && strings.Contains(err.Error(), "constraint failed: passkeys.id")
}

const passkeyColumns = `id, user_id, name, credential, created_at, last_used_at`

func scanPasskey(row scanner) (auth.Passkey, error) {
	var p auth.Passkey
	var cred, created string
	var used sql.NullString
	err := row.Scan(&p.ID, &p.UserID, &p.Name, &cred, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return p, auth.ErrNotFound
	}
	if err != nil {
		return p, err
	}
	p.Credential = []byte(cred)
	if p.CreatedAt, err = parseTime(created); err != nil {
		return p, err
	}
	if used.Valid {
		p.LastUsedAt, err = parseTime(used.String)
	}
	return p, err
}

// Passkeys lists an account's passkeys, oldest first.
func (s *DB) Passkeys(ctx context.Context, userID string) ([]auth.Passkey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PasskeyByID finds a passkey by its credential ID.
func (s *DB) PasskeyByID(ctx context.Context, id []byte) (auth.Passkey, error) {
	return scanPasskey(s.db.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, id))
}

// CountPasskeys counts an account's passkeys.
func (s *DB) CountPasskeys(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, userID).Scan(&n)
	return n, err
}

// UsePasskey saves a passkey's credential after a sign-in, and its time.
func (s *DB) UsePasskey(ctx context.Context, id []byte, credential []byte, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE passkeys SET credential = ?, last_used_at = ? WHERE id = ?`, string(credential), formatTime(at), id)
	if err != nil {
		return fmt.Errorf("use passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// RenamePasskey renames one of an account's passkeys.
func (s *DB) RenamePasskey(ctx context.Context, userID string, id []byte, name string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err != nil {
		return fmt.Errorf("rename passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// DeletePasskey deletes one of an account's passkeys with its audit
// entry; with keepOne the account's last passkey stays
// (auth.ErrPasskeyRequired), checked in the same transaction.
func (s *DB) DeletePasskey(ctx context.Context, userID string, id []byte, keepOne bool, rec audit.Entry) error {
	return s.withAudit(ctx, &rec, func(tx *txn) error {
		if keepOne {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, userID).Scan(&n); err != nil {
				return err
			}
			if n <= 1 {
				var mine int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM passkeys WHERE user_id = ? AND id = ?`, userID, id).Scan(&mine); err != nil {
					return err
				}
				if mine == 1 {
					return auth.ErrPasskeyRequired
				}
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		return nil
	})
}
