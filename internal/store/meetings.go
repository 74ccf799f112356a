package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

const passcodeLabel = "meeting passcode:"

// CreateMeeting records a new meeting.
func (s *DB) CreateMeeting(ctx context.Context, m meeting.Record) error {
	settings, err := json.Marshal(m.Settings)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO meetings
		(id, created_at, kind, title, owner_id, starts_at, duration_s, settings, passcode)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(m.ID), formatTime(m.CreatedAt), string(m.Kind), m.Title, nullString(m.OwnerID),
		nullTime(m.StartsAt), int64(m.Duration/time.Second), string(settings), s.sealPasscode(m))
	if err != nil {
		return fmt.Errorf("create meeting %s: %w", m.ID, err)
	}
	return nil
}

// UpdateMeeting changes a meeting's title, schedule, settings and passcode.
func (s *DB) UpdateMeeting(ctx context.Context, m meeting.Record) error {
	settings, err := json.Marshal(m.Settings)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE meetings SET title = ?, starts_at = ?, duration_s = ?, settings = ?, passcode = ?
		WHERE id = ?`, m.Title, nullTime(m.StartsAt), int64(m.Duration/time.Second), string(settings), s.sealPasscode(m), string(m.ID))
	if err != nil {
		return fmt.Errorf("update meeting %s: %w", m.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update meeting %s: %w", m.ID, ErrNotFound)
	}
	return nil
}

// UpdateMeetingSettings changes only a meeting's settings (a host changing
// them during the meeting, set.Locked being the live room's lock). A
// host's lock is for that session only and is not kept; a lock kept with
// the meeting (an administrator's, LockMeeting) stays through the host's
// other changes and is lifted when the host unlocks: the stored lock
// becomes stored && set.Locked, read and written in one transaction.
func (s *DB) UpdateMeetingSettings(ctx context.Context, id meeting.ID, set meeting.Settings) error {
	err := s.inTx(ctx, func(tx *txn) error {
		stored, err := settingsIn(ctx, tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		set.Locked = set.Locked && stored.Locked
		return saveSettingsIn(ctx, tx, id, set)
	})
	if err != nil {
		return fmt.Errorf("update settings of meeting %s: %w", id, err)
	}
	return nil
}

// DeleteMeeting removes a meeting.
func (s *DB) DeleteMeeting(ctx context.Context, id meeting.ID) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM meetings WHERE id = ?`, string(id))
	return err
}

const meetingColumns = `id, created_at, kind, title, owner_id, starts_at, duration_s, settings, passcode`

// Meeting returns a meeting's record, or ErrNotFound.
func (s *DB) Meeting(ctx context.Context, id meeting.ID) (meeting.Record, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+meetingColumns+` FROM meetings WHERE id = ?`, string(id))
	m, err := s.scanMeeting(row)
	if errors.Is(err, sql.ErrNoRows) {
		return meeting.Record{}, fmt.Errorf("meeting %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return meeting.Record{}, fmt.Errorf("meeting %s: %w", id, err)
	}
	return m, nil
}

// MeetingExists reports whether a meeting was created.
func (s *DB) MeetingExists(ctx context.Context, id meeting.ID) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM meetings WHERE id = ?`, string(id)).Scan(&n)
	return n > 0, err
}

// MeetingsOwnedBy lists an account's meetings: the personal room first,
// then scheduled ones by start time, then instant ones newest first.
func (s *DB) MeetingsOwnedBy(ctx context.Context, ownerID string) ([]meeting.Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+meetingColumns+` FROM meetings WHERE owner_id = ?
		ORDER BY CASE kind WHEN 'personal' THEN 0 WHEN 'scheduled' THEN 1 ELSE 2 END,
		         CASE kind WHEN 'scheduled' THEN starts_at END ASC NULLS FIRST, created_at DESC`, ownerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meeting.Record
	for rows.Next() {
		m, err := s.scanMeeting(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// PersonalMeeting returns an account's personal room, or ErrNotFound.
func (s *DB) PersonalMeeting(ctx context.Context, ownerID string) (meeting.Record, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+meetingColumns+` FROM meetings WHERE owner_id = ? AND kind = 'personal'`, ownerID)
	m, err := s.scanMeeting(row)
	if errors.Is(err, sql.ErrNoRows) {
		return meeting.Record{}, fmt.Errorf("personal meeting of %s: %w", ownerID, ErrNotFound)
	}
	return m, err
}

// AddBans records bans for a meeting (repeats are ignored).
func (s *DB) AddBans(ctx context.Context, id meeting.ID, bans []meeting.Ban) error {
	return s.inTx(ctx, func(tx *txn) error {
		for _, b := range bans {
			_, err := tx.ExecContext(ctx, `INSERT INTO meeting_bans (meeting_id, kind, value, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (meeting_id, kind, value) DO NOTHING`,
				string(id), string(b.Kind), b.Value, formatTime(time.Now()))
			if err != nil {
				return fmt.Errorf("ban in meeting %s: %w", id, err)
			}
		}
		return nil
	})
}

// Bans returns a meeting's bans.
func (s *DB) Bans(ctx context.Context, id meeting.ID) ([]meeting.Ban, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, value FROM meeting_bans WHERE meeting_id = ?`, string(id))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meeting.Ban
	for rows.Next() {
		var b meeting.Ban
		if err := rows.Scan(&b.Kind, &b.Value); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func (s *DB) scanMeeting(row scanner) (meeting.Record, error) {
	var (
		m                          meeting.Record
		id, created, kind, setting string
		owner, starts              sql.NullString
		duration                   int64
		passcode                   []byte
	)
	if err := row.Scan(&id, &created, &kind, &m.Title, &owner, &starts, &duration, &setting, &passcode); err != nil {
		return m, err
	}
	m.ID, m.Kind, m.OwnerID, m.Duration = meeting.ID(id), meeting.Kind(kind), owner.String, time.Duration(duration)*time.Second
	var err error
	if m.CreatedAt, err = parseTime(created); err != nil {
		return m, fmt.Errorf("bad created_at: %w", err)
	}
	if starts.Valid {
		if m.StartsAt, err = parseTime(starts.String); err != nil {
			return m, fmt.Errorf("bad starts_at: %w", err)
		}
	}
	if err := json.Unmarshal([]byte(setting), &m.Settings); err != nil {
		return m, fmt.Errorf("bad settings: %w", err)
	}
	if len(passcode) > 0 {
		pc, err := s.sealer.Open(passcode, passcodeLabel+id)
		if err != nil {
			return m, fmt.Errorf("passcode: %w", err)
		}
		m.Passcode = string(pc)
	}
	return m, nil
}

func (s *DB) sealPasscode(m meeting.Record) []byte {
	if m.Passcode == "" {
		return nil
	}
	return s.sealer.Seal([]byte(m.Passcode), passcodeLabel+string(m.ID))
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(t), Valid: true}
}
