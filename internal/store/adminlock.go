package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// LockMeeting sets a stored meeting's settings.locked at an
// administrator's request and appends e, in one transaction, and returns
// the sealed entry. The lock is kept with the meeting (the next time
// anyone comes, it is still locked) until a host unlocks it from inside
// (UpdateMeetingSettings) or an administrator does. A meeting no longer
// stored (deleted while someone was still in it) changes nothing but is
// still recorded: the live room's lock is the action then.
func (s *DB) LockMeeting(ctx context.Context, id meeting.ID, locked bool, e audit.Entry) (audit.Entry, error) {
	err := s.withAudit(ctx, &e, func(tx *txn) error {
		set, err := settingsIn(ctx, tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		set.Locked = locked
		return saveSettingsIn(ctx, tx, id, set)
	})
	if err != nil {
		return audit.Entry{}, fmt.Errorf("lock meeting %s: %w", id, err)
	}
	return e, nil
}

// settingsIn reads a meeting's stored settings inside tx, or ErrNotFound;
// in PostgreSQL it locks the meeting's row until tx ends (the caller
// writes the settings back, and UpdateMeeting must not write between).
func settingsIn(ctx context.Context, tx *txn, id meeting.ID) (meeting.Settings, error) {
	var set meeting.Settings
	var b string
	err := tx.QueryRowContext(ctx, `SELECT settings FROM meetings WHERE id = ?`+tx.d.pick("", " FOR UPDATE"), string(id)).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return set, ErrNotFound
	}
	if err != nil {
		return set, err
	}
	if err := json.Unmarshal([]byte(b), &set); err != nil {
		return set, fmt.Errorf("bad settings: %w", err)
	}
	return set, nil
}

// saveSettingsIn writes a meeting's settings inside tx.
func saveSettingsIn(ctx context.Context, tx *txn, id meeting.ID, set meeting.Settings) error {
	b, err := json.Marshal(set)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE meetings SET settings = ? WHERE id = ?`, string(b), string(id))
	return err
}
