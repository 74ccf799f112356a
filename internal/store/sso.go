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

// The auth.SSOStore methods (migration 0012): the organisation's
// OpenID Connect provider, one row whose client secret is sealed, and
// the provider identities linked to accounts.

var _ auth.SSOStore = (*DB)(nil)

// SSOConfig returns the provider; auth.ErrNotFound when none was saved.
func (s *DB) SSOConfig(ctx context.Context) (auth.SSOConfig, error) {
	var c auth.SSOConfig
	var domains, updated string
	var enabled, create, link, only int64
	err := s.db.QueryRowContext(ctx, `SELECT enabled, issuer, client_id, client_secret, label, domains, allow_create, link_by_email, sso_only, updated_at
		FROM sso_provider WHERE id = ?`, auth.SSORowID).
		Scan(&enabled, &c.Issuer, &c.ClientID, &c.ClientSecret, &c.Label, &domains, &create, &link, &only, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return c, auth.ErrNotFound
	}
	if err != nil {
		return c, err
	}
	c.Enabled, c.AllowCreate, c.LinkByEmail, c.SSOOnly = enabled != 0, create != 0, link != 0, only != 0
	c.Domains = strings.Fields(domains)
	c.UpdatedAt, err = parseTime(updated)
	return c, err
}

// SetSSOConfig saves the provider and appends rec in one transaction.
func (s *DB) SetSSOConfig(ctx context.Context, c auth.SSOConfig, rec audit.Entry) error {
	secret := c.ClientSecret
	if secret == nil {
		secret = []byte{}
	}
	err := s.withAudit(ctx, &rec, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sso_provider
			(id, enabled, issuer, client_id, client_secret, label, domains, allow_create, link_by_email, sso_only, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, issuer = excluded.issuer, client_id = excluded.client_id,
				client_secret = excluded.client_secret, label = excluded.label, domains = excluded.domains,
				allow_create = excluded.allow_create, link_by_email = excluded.link_by_email, sso_only = excluded.sso_only,
				updated_at = excluded.updated_at`,
			auth.SSORowID, boolInt(c.Enabled), c.Issuer, c.ClientID, secret, c.Label, strings.Join(c.Domains, " "),
			boolInt(c.AllowCreate), boolInt(c.LinkByEmail), boolInt(c.SSOOnly), formatTime(c.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("save single sign-on settings: %w", err)
	}
	return nil
}

const ssoIdentityColumns = `issuer, subject, user_id, created, created_at, last_used_at`

func scanSSOIdentity(row scanner) (auth.SSOIdentity, error) {
	var id auth.SSOIdentity
	var created int64
	var at string
	var used sql.NullString
	err := row.Scan(&id.Issuer, &id.Subject, &id.UserID, &created, &at, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return id, auth.ErrNotFound
	}
	if err != nil {
		return id, err
	}
	id.Created = created != 0
	if id.CreatedAt, err = parseTime(at); err != nil {
		return id, err
	}
	if used.Valid {
		id.LastUsedAt, err = parseTime(used.String)
	}
	return id, err
}

// SSOIdentity finds a linked identity; auth.ErrNotFound.
func (s *DB) SSOIdentity(ctx context.Context, issuer, subject string) (auth.SSOIdentity, error) {
	return scanSSOIdentity(s.db.QueryRowContext(ctx, `SELECT `+ssoIdentityColumns+` FROM sso_identities WHERE issuer = ? AND subject = ?`, issuer, subject))
}

// UserSSOIdentities lists the identities linked to an account, oldest
// first.
func (s *DB) UserSSOIdentities(ctx context.Context, userID string) ([]auth.SSOIdentity, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+ssoIdentityColumns+` FROM sso_identities WHERE user_id = ? ORDER BY created_at, issuer, subject`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.SSOIdentity
	for rows.Next() {
		id, err := scanSSOIdentity(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func insertSSOIdentity(ctx context.Context, tx *txn, id auth.SSOIdentity) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO sso_identities (issuer, subject, user_id, created, created_at) VALUES (?, ?, ?, ?, ?)`,
		id.Issuer, id.Subject, id.UserID, boolInt(id.Created), formatTime(id.CreatedAt))
	return err
}

// isSSOLinked reports whether err is sso_identities' primary key failing.
func isSSOLinked(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505" && pg.TableName == "sso_identities"
	}
	return err != nil && strings.Contains(err.Error(), "constraint failed: sso_identities.")
}

// LinkSSOIdentity links an identity to an existing account and appends
// rec, in one transaction.
func (s *DB) LinkSSOIdentity(ctx context.Context, id auth.SSOIdentity, rec audit.Entry) error {
	err := s.withAudit(ctx, &rec, func(tx *txn) error { return insertSSOIdentity(ctx, tx, id) })
	switch {
	case isSSOLinked(err):
		return auth.ErrSSOLinked
	case isForeignKey(err):
		return auth.ErrNotFound
	case err != nil:
		return fmt.Errorf("link single sign-on identity: %w", err)
	}
	return nil
}

// CreateSSOUser creates an account with its identity and appends rec, in
// one transaction.
func (s *DB) CreateSSOUser(ctx context.Context, u auth.User, id auth.SSOIdentity, rec audit.Entry) error {
	err := s.withAudit(ctx, &rec, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users
		(id, email, name, role, password_hash, totp_secret, totp_pending, totp_last_step, created_at, email_verified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, formatTime(u.CreatedAt),
			boolInt(u.EmailVerified)); err != nil {
			return err
		}
		return insertSSOIdentity(ctx, tx, id)
	})
	switch {
	case s.d.isUnique(err, "users", "email"):
		return auth.ErrEmailTaken
	case isSSOLinked(err):
		return auth.ErrSSOLinked
	case err != nil:
		return fmt.Errorf("create single sign-on account: %w", err)
	}
	return nil
}

// UseSSOIdentity records when an identity last signed in.
func (s *DB) UseSSOIdentity(ctx context.Context, issuer, subject string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sso_identities SET last_used_at = ? WHERE issuer = ? AND subject = ?`, formatTime(at), issuer, subject)
	return err
}
