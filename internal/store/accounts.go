package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

// The auth.Store methods.

// CountUsers counts accounts.
func (s *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// CreateUser adds an account; a taken e-mail is auth.ErrEmailTaken.
func (s *DB) CreateUser(ctx context.Context, u auth.User, rec *audit.Entry) error {
	err := s.withAudit(ctx, rec, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users
		(id, email, name, role, password_hash, totp_secret, totp_pending, totp_last_step, created_at, email_verified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, formatTime(u.CreatedAt),
			boolInt(u.EmailVerified))
		return err
	})
	if s.d.isUnique(err, "users", "email") {
		return auth.ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

const userColumns = `id, email, name, role, password_hash, totp_secret, totp_pending, totp_last_step, created_at, suspended_at, suspend_reason, email_verified`

func scanUser(row scanner) (auth.User, error) {
	var u auth.User
	var role, created string
	var suspended sql.NullString
	var verified int64
	err := row.Scan(&u.ID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.TOTPSecret, &u.TOTPPending, &u.TOTPLastStep, &created,
		&suspended, &u.SuspendReason, &verified)
	if errors.Is(err, sql.ErrNoRows) {
		return u, auth.ErrNotFound
	}
	if err != nil {
		return u, err
	}
	u.Role = auth.OrgRole(role)
	u.EmailVerified = verified != 0
	if suspended.Valid {
		if u.SuspendedAt, err = parseTime(suspended.String); err != nil {
			return u, err
		}
	}
	u.CreatedAt, err = parseTime(created)
	return u, err
}

// UserByEmail finds an account by (lower-case) e-mail.
func (s *DB) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
}

// UserByID finds an account.
func (s *DB) UserByID(ctx context.Context, id string) (auth.User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UpdateUser saves an account's changeable fields.
func (s *DB) UpdateUser(ctx context.Context, u auth.User) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET name = ?, role = ?, password_hash = ?, totp_secret = ?,
		totp_pending = ?, totp_last_step = ? WHERE id = ?`,
		u.Name, string(u.Role), u.PasswordHash, u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, u.ID)
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// UseTOTPStep moves an account's last used TOTP step forward to step, in
// one conditional statement, so a code can never be used twice even by
// simultaneous requests.
func (s *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("use totp step of %s: %w", userID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ListUsers lists accounts by e-mail.
func (s *DB) ListUsers(ctx context.Context) ([]auth.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateSession stores a session (by its token's hash).
func (s *DB) CreateSession(ctx context.Context, sess auth.Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, created_at, last_seen, expires_at, reauth_at) VALUES (?, ?, ?, ?, ?, ?)`,
		sess.Hash, sess.UserID, formatTime(sess.CreatedAt), formatTime(sess.LastSeen), formatTime(sess.ExpiresAt), nullTime(sess.ReauthAt))
	return err
}

// SessionByHash finds a session.
func (s *DB) SessionByHash(ctx context.Context, hash []byte) (auth.Session, error) {
	return scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE hash = ?`, hash))
}

// UserSessions lists an account's sessions, newest first.
func (s *DB) UserSessions(ctx context.Context, userID string) ([]auth.Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	return out, rows.Err()
}

const sessionColumns = `hash, user_id, created_at, last_seen, expires_at, reauth_at`

func scanSession(row scanner) (auth.Session, error) {
	var sess auth.Session
	var created, seen, expires string
	var reauth sql.NullString
	err := row.Scan(&sess.Hash, &sess.UserID, &created, &seen, &expires, &reauth)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, auth.ErrNotFound
	}
	if err != nil {
		return sess, err
	}
	for _, f := range []struct {
		s string
		t *time.Time
	}{{created, &sess.CreatedAt}, {seen, &sess.LastSeen}, {expires, &sess.ExpiresAt}} {
		if *f.t, err = parseTime(f.s); err != nil {
			return sess, err
		}
	}
	if reauth.Valid {
		sess.ReauthAt, err = parseTime(reauth.String)
	}
	return sess, err
}

// TouchSession records that a session was used.
func (s *DB) TouchSession(ctx context.Context, hash []byte, lastSeen time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE hash = ?`, formatTime(lastSeen), hash)
	return err
}

// SetSessionReauth records that a session's holder proved themselves
// again at at (auth/reauth.go); auth.ErrNotFound for an ended session.
func (s *DB) SetSessionReauth(ctx context.Context, hash []byte, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET reauth_at = ? WHERE hash = ?`, formatTime(at), hash)
	if err != nil {
		return fmt.Errorf("record re-authentication: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// DeleteSession ends a session.
func (s *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}

// DeleteUserSessions ends every session of an account.
func (s *DB) DeleteUserSessions(ctx context.Context, userID string) error {
	_, err := s.execLocked(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return err
}

// ReplaceRecoveryCodes swaps an account's recovery codes for new hashes.
func (s *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	return s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)`, userID, h); err != nil {
				return err
			}
		}
		return nil
	})
}

// UseRecoveryCode marks an unused code used, in one statement, so a code
// can never be used twice even by simultaneous requests.
func (s *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL`,
		formatTime(time.Now()), userID, hash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RecoveryCodesLeft counts an account's unused recovery codes.
func (s *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	return n, err
}

// Org returns the organisation's policy (the defaults until changed).
func (s *DB) Org(ctx context.Context) (auth.Org, error) {
	var b string
	err := s.db.QueryRowContext(ctx, `SELECT settings FROM org WHERE id = 1`).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.DefaultOrg(), nil
	}
	if err != nil {
		return auth.Org{}, err
	}
	o := auth.DefaultOrg()
	if err := json.Unmarshal([]byte(b), &o); err != nil {
		return auth.Org{}, fmt.Errorf("organisation settings: %w", err)
	}
	return o, nil
}

// SetOrg saves the organisation's policy and its audit entry.
func (s *DB) SetOrg(ctx context.Context, o auth.Org, rec audit.Entry) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return s.withAudit(ctx, &rec, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO org (id, settings) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET settings = excluded.settings`, string(b))
		return err
	})
}

// checkGuard checks g about the account userID inside tx (see
// auth.Guard). Nothing changes the accounts between this check and the
// caller's change: SQLite's transactions begin IMMEDIATE; in PostgreSQL
// the rows of the active administrators are locked first, so that no
// statement outside the transaction (UpdateUser) changes one meanwhile.
func checkGuard(ctx context.Context, tx *txn, userID string, g auth.Guard) error {
	if tx.d.postgres && (g.Admin != "" || g.KeepAdmin) {
		if _, err := tx.ExecContext(ctx, `SELECT id FROM users WHERE role = 'admin' AND suspended_at IS NULL FOR UPDATE`); err != nil {
			return err
		}
	}
	if g.Admin != "" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id = ? AND role = 'admin' AND suspended_at IS NULL`,
			g.Admin).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: the acting account is no longer an active admin", auth.ErrForbidden)
		}
	}
	if !g.KeepAdmin {
		return nil
	}
	var active, others int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id = ? AND role = 'admin' AND suspended_at IS NULL`,
		userID).Scan(&active); err != nil {
		return err
	}
	if active == 0 {
		return nil
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin' AND suspended_at IS NULL AND id <> ?`,
		userID).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return auth.ErrLastAdmin
	}
	return nil
}

// SetSuspended suspends an account (at non-zero) or lifts its suspension
// (at zero), with rec, after checking g in the same transaction; either
// way the account's sessions end in that transaction.
func (s *DB) SetSuspended(ctx context.Context, userID string, at time.Time, reason string, g auth.Guard, rec audit.Entry) error {
	return s.withAudit(ctx, &rec, func(tx *txn) error {
		if err := checkGuard(ctx, tx, userID, g); err != nil {
			return err
		}
		var when any
		if !at.IsZero() {
			when = formatTime(at)
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET suspended_at = ?, suspend_reason = ? WHERE id = ?`, when, reason, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		// Both ways: a session stored in a race with the suspension
		// (none can be made while it lasts) must not work once it is
		// lifted.
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		return err
	})
}

// ResetTwoFactor turns an account's two-factor off (secret, enrolment,
// passkeys and recovery codes), with rec.
func (s *DB) ResetTwoFactor(ctx context.Context, userID string, rec audit.Entry) error {
	return s.withAudit(ctx, &rec, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE id = ?`, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = ?`, userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID)
		return err
	})
}

// DeleteUser deletes an account with everything that belongs to it (its
// sessions, recovery codes and meetings, by the schema's cascades), with
// rec, after checking g in the same transaction; the audit log keeps the
// account's ID, not its e-mail or name.
func (s *DB) DeleteUser(ctx context.Context, userID string, g auth.Guard, rec audit.Entry) error {
	return s.withAudit(ctx, &rec, func(tx *txn) error {
		if err := checkGuard(ctx, tx, userID, g); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		return nil
	})
}

var _ auth.Store = (*DB)(nil)
