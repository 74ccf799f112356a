package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

// sealedColumn is a column whose values are sealed with the server key
// (auth.Sealer), under the label prefix followed by the row's key.
type sealedColumn struct {
	table, column, key string
	label              string
}

// sealedColumns are every sealed value the database keeps: a key
// rotation re-seals exactly these. TestEverySealedColumnIsRotated fails
// when a BLOB column is added without being listed here or in
// unsealedBlobs, or when something is sealed under a label not listed.
var sealedColumns = []sealedColumn{
	{"users", "totp_secret", "id", "totp:"},  // auth.Service: "totp:" + user ID
	{"users", "totp_pending", "id", "totp:"}, // the same, while enrolment is unconfirmed
	{"meetings", "passcode", "id", passcodeLabel},
	{"webhooks", "secret", "id", webhookSecretLabel},
	{"sso_provider", "client_secret", "id", auth.SSOSecretLabel}, // auth.Service: SSOSecretLabel + "org"
}

// unsealedBlobs are the BLOB columns that hold nothing sealed, and what
// they hold instead.
var unsealedBlobs = map[string]string{
	"sessions.hash":                 "SHA-256 of a session token",
	"recovery_codes.hash":           "hash of a recovery code",
	"live_participants.resume_hash": "SHA-256 of a resume token",
	"audit_log.prev":                "the previous audit entry's hash",
	"audit_log.hash":                "an audit entry's hash",
	"api_tokens.hash":               "SHA-256 of an API token",
	"ingest_tokens.hash":            "SHA-256 of a WHIP ingest token",
	"passkeys.id":                   "a passkey's credential ID (public)",
	"recording_keys.public_key":     "an account's recording public key",
	"recording_keys.signature":      "a browser's signature of its recording public key",
	"recordings.manifest":           "a recording's manifest, encrypted in the recorder's browser",
	"recording_chunks.data":         "a recording's chunk, encrypted in the recorder's browser",
	"recording_readers.wrapped_key": "a recording's content key wrapped (HPKE) in a browser",
	"auth_ceremonies.token_hash":    "SHA-256 of a passkey flow token or single sign-on state",
	"auth_ceremonies.bind":          "SHA-256 of a browser's single sign-on flow cookie",
}

// ResealAll opens every sealed value with from and seals it again with
// to, and appends e (with the count re-sealed in its details), in one
// transaction committed durably (the key file is replaced right after
// this returns): in SQLite with synchronous=FULL (in WAL mode with
// NORMAL, a commit can be lost to a power cut), in PostgreSQL with
// synchronous_commit on for the transaction whatever the server's
// default, and with the tables that hold sealed values locked against
// other writers until the commit (other nodes may still be running). A
// value that from cannot open stops the rotation, naming its row;
// nothing is changed then.
func (s *DB) ResealAll(ctx context.Context, from, to *auth.Sealer, e audit.Entry) (audit.Entry, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return e, err
	}
	defer conn.Close()
	if !s.d.postgres {
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
			return e, err
		}
		// The connection goes back to the pool as the DSN sets it.
		defer conn.ExecContext(context.Background(), `PRAGMA synchronous = NORMAL`)
	}
	tx, err := s.begin(ctx, conn.BeginTx)
	if err != nil {
		return e, err
	}
	defer tx.Rollback()
	if s.d.postgres {
		tables := map[string]bool{}
		for _, c := range sealedColumns {
			tables[c.table] = true
		}
		for _, q := range []string{`SET LOCAL synchronous_commit = on`,
			`LOCK TABLE ` + strings.Join(slices.Sorted(maps.Keys(tables)), ", ") + ` IN SHARE ROW EXCLUSIVE MODE`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return e, err
			}
		}
	}
	total := 0
	for _, c := range sealedColumns {
		n, err := resealColumn(ctx, tx, c, from, to)
		if err != nil {
			return e, err
		}
		total += n
	}
	details := map[string]string{}
	for k, v := range e.Details {
		details[k] = v
	}
	details["resealed"] = strconv.Itoa(total)
	e.Details = details
	if err := appendAudit(ctx, tx, &e); err != nil {
		return e, err
	}
	return e, tx.Commit()
}

// resealColumn re-seals one column's values inside tx and returns how
// many there were.
func resealColumn(ctx context.Context, tx *txn, c sealedColumn, from, to *auth.Sealer) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+c.key+`, `+c.column+` FROM `+c.table+
		` WHERE `+c.column+` IS NOT NULL AND length(`+c.column+`) > 0`)
	if err != nil {
		return 0, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
	}
	type value struct {
		key    string
		sealed []byte
	}
	var values []value
	for rows.Next() {
		var v value
		if err := rows.Scan(&v.key, &v.sealed); err != nil {
			rows.Close()
			return 0, err
		}
		values = append(values, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, v := range values {
		label := c.label + v.key
		plain, err := from.Open(v.sealed, label)
		if err != nil {
			return 0, fmt.Errorf("%s.%s of %s %s: %w (nothing was changed)", c.table, c.column, c.table, v.key, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+c.table+` SET `+c.column+` = ? WHERE `+c.key+` = ?`,
			to.Seal(plain, label), v.key); err != nil {
			return 0, fmt.Errorf("%s.%s of %s: %w", c.table, c.column, v.key, err)
		}
	}
	return len(values), nil
}

// settleKey finishes or rolls back a key rotation that was interrupted
// (auth/rotate.go): it committed exactly when the audit log's last
// rotation names the key of secret.key.new. A sealed value of each
// column is opened to check that the database agrees; if it does not,
// both key files are left for whoever investigates and the database is
// not opened.
func (s *DB) settleKey(ctx context.Context) error {
	pending, ok := s.sealer.Pending()
	if !ok {
		return nil
	}
	last, found, err := s.LatestAudit(ctx, audit.KeyRotated)
	if err != nil {
		return fmt.Errorf("interrupted key rotation: %w", err)
	}
	committed := found && last.Details["newKey"] == pending
	for _, c := range sealedColumns {
		var key string
		var sealed []byte
		err := s.db.QueryRowContext(ctx, `SELECT `+c.key+`, `+c.column+` FROM `+c.table+
			` WHERE `+c.column+` IS NOT NULL AND length(`+c.column+`) > 0 LIMIT 1`).Scan(&key, &sealed)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return fmt.Errorf("interrupted key rotation: %w", err)
		}
		_, errOld := s.sealer.Open(sealed, c.label+key)
		_, errNew := s.sealer.OpenPending(sealed, c.label+key)
		if (committed && errNew != nil && errOld == nil) || (!committed && errOld != nil && errNew == nil) {
			return fmt.Errorf("interrupted key rotation: the audit log says it %s, but %s.%s of %s opens only with the other key; secret.key and secret.key.new are both kept: investigate before starting again",
				map[bool]string{true: "committed", false: "did not commit"}[committed], c.table, c.column, key)
		}
	}
	return s.sealer.Settle(committed)
}

// LatestAudit returns the newest entry of an action, if there is one.
func (s *DB) LatestAudit(ctx context.Context, action audit.Action) (audit.Entry, bool, error) {
	entries, err := s.queryAudit(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1`, string(action))
	if err != nil || len(entries) == 0 {
		return audit.Entry{}, false, err
	}
	return entries[0], true, nil
}
