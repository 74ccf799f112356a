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
		RETURNING data, attempts, expires_at`, key, family, bind).Scan(&data, &c.Attempts, &expires)
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

// PeekCeremony returns the ceremony of key in family without taking it.
func (s *DB) PeekCeremony(ctx context.Context, family string, key []byte) (auth.Ceremony, error) {
	c := auth.Ceremony{Key: key, Family: family}
	var data, expires string
	err := s.db.QueryRowContext(ctx, `SELECT bind, data, attempts, expires_at FROM auth_ceremonies WHERE token_hash = ? AND family = ?`,
		key, family).Scan(&c.Bind, &data, &c.Attempts, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, auth.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("read a %s ceremony: %w", family, err)
	}
	c.Data = []byte(data)
	c.ExpiresAt, err = parseTime(expires)
	return c, err
}

// CountCeremonyAttempt adds a failed attempt to the ceremony of key in
// family, in one statement, and returns how many it has had.
func (s *DB) CountCeremonyAttempt(ctx context.Context, family string, key []byte) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `UPDATE auth_ceremonies SET attempts = attempts + 1 WHERE token_hash = ? AND family = ?
		RETURNING attempts`, key, family).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, auth.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("count a %s ceremony's attempt: %w", family, err)
	}
	return n, nil
}
