package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// The auth.CeremonyStore methods (migration 0015): passkey ceremonies and
// single sign-on flows under way, so that any node sharing the database
// can finish a ceremony another began.

var (
	_ auth.CeremonyStore = (*DB)(nil)
	_ auth.ReauthStore   = (*DB)(nil)
)

// PutCeremony stores c after dropping expired ceremonies and, beyond max
// of its family, the oldest.
func (s *DB) PutCeremony(ctx context.Context, c auth.Ceremony, max int, now time.Time) error {
	bind := c.Bind
	if bind == nil {
		bind = []byte{}
	}
	err := s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_ceremonies WHERE expires_at < ?`, formatTime(now)); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_ceremonies WHERE family = ?`, c.Family).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			if _, err := tx.ExecContext(ctx, `DELETE FROM auth_ceremonies WHERE token_hash IN
				(SELECT token_hash FROM auth_ceremonies WHERE family = ? ORDER BY expires_at LIMIT ?)`, c.Family, n-max+1); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_ceremonies (token_hash, family, bind, data, expires_at) VALUES (?, ?, ?, ?, ?)`,
			c.Key, c.Family, bind, string(c.Data), formatTime(c.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("keep a %s ceremony: %w", c.Family, err)
	}
	return nil
}

// TakeCeremony deletes and returns the ceremony of key in family bound to
// bind, in one statement: two nodes answering the same ceremony at once
// cannot both take it.
func (s *DB) TakeCeremony(ctx context.Context, family string, key, bind []byte) (auth.Ceremony, error) {
	if bind == nil {
		bind = []byte{}
	}
	c := auth.Ceremony{Key: key, Family: family, Bind: bind}
	var data, expires string
	err := s.db.QueryRowContext(ctx, `DELETE FROM auth_ceremonies WHERE token_hash = ? AND family = ? AND bind = ?
		RETURNING data, expires_at`, key, family, bind).Scan(&data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, auth.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("take a %s ceremony: %w", family, err)
	}
	c.Data = []byte(data)
	c.ExpiresAt, err = parseTime(expires)
	return c, err
}
