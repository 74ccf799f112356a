package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/webhook"
)

// webhookSecretLabel is what a webhook's secret is sealed under, with
// the webhook's ID.
const webhookSecretLabel = "webhook:"

const webhookColumns = `id, url, secret, events, enabled, created_at, created_by`

func (s *DB) scanWebhook(row scanner) (webhook.Hook, error) {
	var h webhook.Hook
	var sealed []byte
	var events, created string
	var enabled int64
	err := row.Scan(&h.ID, &h.URL, &sealed, &events, &enabled, &created, &h.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNotFound
	}
	if err != nil {
		return h, err
	}
	h.Events, h.Enabled = strings.Fields(events), enabled != 0
	if h.CreatedAt, err = parseTime(created); err != nil {
		return h, err
	}
	h.Secret, err = s.sealer.Open(sealed, webhookSecretLabel+h.ID)
	return h, err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// CreateWebhook stores a webhook, its secret sealed, and appends rec.
func (s *DB) CreateWebhook(ctx context.Context, h webhook.Hook, rec audit.Entry) error {
	return s.withAudit(ctx, &rec, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			h.ID, h.URL, s.sealer.Seal(h.Secret, webhookSecretLabel+h.ID), strings.Join(h.Events, " "), boolInt(h.Enabled),
			formatTime(h.CreatedAt), h.CreatedBy)
		return err
	})
}

// Webhooks lists the webhooks, oldest first, secrets opened.
func (s *DB) Webhooks(ctx context.Context) ([]webhook.Hook, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []webhook.Hook
	for rows.Next() {
		h, err := s.scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// SetWebhookEnabled turns a webhook on or off and appends rec's entry.
func (s *DB) SetWebhookEnabled(ctx context.Context, id string, enabled bool, rec func(webhook.Hook) audit.Entry) error {
	return s.inTx(ctx, func(tx *txn) error {
		h, err := s.scanWebhook(tx.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`+s.forUpdate(), id))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET enabled = ? WHERE id = ?`, boolInt(enabled), id); err != nil {
			return err
		}
		e := rec(h)
		return appendAudit(ctx, tx, &e)
	})
}

// DeleteWebhook deletes a webhook and its deliveries and appends rec's
// entry.
func (s *DB) DeleteWebhook(ctx context.Context, id string, rec func(webhook.Hook) audit.Entry) error {
	return s.inTx(ctx, func(tx *txn) error {
		h, err := s.scanWebhook(tx.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ?`+s.forUpdate(), id))
		if err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM webhook_deliveries WHERE webhook_id = ?`, `DELETE FROM webhooks WHERE id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		e := rec(h)
		return appendAudit(ctx, tx, &e)
	})
}

// dueFormat is how next_at is written: fixed width, so that comparing
// the text compares the times (RFC 3339 with trimmed fractions does not).
const dueFormat = "2006-01-02T15:04:05.000000000Z"

func dueTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(dueFormat)
}

const deliveryColumns = `id, webhook_id, event_id, event, payload, attempts, status, next_at, last_code, last_error, created_at, updated_at`

func scanDelivery(row scanner) (webhook.Delivery, error) {
	var d webhook.Delivery
	var payload, created, updated string
	var next sql.NullString
	var attempts, code int64
	err := row.Scan(&d.ID, &d.HookID, &d.EventID, &d.Event, &payload, &attempts, &d.Status, &next, &code, &d.LastError, &created, &updated)
	if err != nil {
		return d, err
	}
	d.Payload, d.Attempts, d.LastCode = []byte(payload), int(attempts), int(code)
	if next.Valid {
		if d.NextAt, err = time.Parse(dueFormat, next.String); err != nil {
			return d, err
		}
	}
	if d.CreatedAt, err = parseTime(created); err != nil {
		return d, err
	}
	d.UpdatedAt, err = parseTime(updated)
	return d, err
}

// AddDeliveries stores new deliveries in one transaction (a webhook
// deleted meanwhile fails it as a foreign key).
func (s *DB) AddDeliveries(ctx context.Context, ds []webhook.Delivery) error {
	return s.inTx(ctx, func(tx *txn) error {
		for _, d := range ds {
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+deliveryColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				d.ID, d.HookID, d.EventID, d.Event, string(d.Payload), d.Attempts, d.Status, dueTime(d.NextAt), d.LastCode, d.LastError,
				d.CreatedAt.UTC().Format(dueFormat), d.UpdatedAt.UTC().Format(dueFormat)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *DB) queryDeliveries(ctx context.Context, q string, args ...any) ([]webhook.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []webhook.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DueDeliveries are the pending deliveries of enabled webhooks due by
// now, oldest first.
func (s *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]webhook.Delivery, error) {
	return s.queryDeliveries(ctx, `SELECT d.`+strings.ReplaceAll(deliveryColumns, ", ", ", d.")+`
		FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.status = 'pending' AND w.enabled = 1 AND d.next_at <= ? ORDER BY d.next_at, d.created_at LIMIT ?`, dueTime(now), limit)
}

// UpdateDelivery saves an attempt's outcome; once it is finished, only
// the newest keep finished deliveries of its webhook are kept.
func (s *DB) UpdateDelivery(ctx context.Context, d webhook.Delivery, keep int) error {
	return s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = ?, status = ?, next_at = ?, last_code = ?, last_error = ?, updated_at = ?
			WHERE id = ?`, d.Attempts, d.Status, dueTime(d.NextAt), d.LastCode, d.LastError, d.UpdatedAt.UTC().Format(dueFormat), d.ID); err != nil {
			return err
		}
		if d.Status == webhook.StatusPending {
			return nil
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = ? AND status <> 'pending' AND id NOT IN
			(SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND status <> 'pending' ORDER BY updated_at DESC, id DESC LIMIT ?)`,
			d.HookID, d.HookID, keep)
		return err
	})
}

// Deliveries are a webhook's newest deliveries (pending included),
// newest first.
func (s *DB) Deliveries(ctx context.Context, hookID string, limit int) ([]webhook.Delivery, error) {
	return s.queryDeliveries(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, hookID, limit)
}
