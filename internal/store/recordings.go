package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Recordings (migration 0013). Everything stored here was encrypted in a
// browser: the chunks and the manifest with the recording's content key,
// the content key wrapped to each reader's recording key. The store
// enforces who may write what (the recorder, while the recording is
// open) and how much, never what the bytes mean.

// Errors of recordings.
var (
	// ErrRecordingClosed: the recording is finished, or a chunk is missing
	// at finish.
	ErrRecordingClosed = errors.New("recording closed")
	// ErrRecordingFull: the chunk would take the recording past its limit.
	ErrRecordingFull = errors.New("recording full")
	// ErrChunksMissing: finishing with chunks missing.
	ErrChunksMissing = errors.New("chunks missing")
)

// Recording is a recording's metadata.
type Recording struct {
	ID         string
	MeetingID  string
	RecorderID string
	E2EE       bool
	StartedAt  time.Time
	FinishedAt time.Time // zero while open
	Chunks     int
	Bytes      int64
	Manifest   []byte // encrypted by the recorder; nil while open
	// Kind is KindBrowser (made and encrypted in a browser) or KindServer
	// (plain WebM written by the server, migration 0018); empty means
	// KindBrowser.
	Kind string
}

// Recording kinds (Recording.Kind).
const (
	KindBrowser = "browser"
	KindServer  = "server"
)

// RecordingReader is one account's access to a recording.
type RecordingReader struct {
	RecordingID string
	UserID      string
	WrappedKey  []byte
	SharedBy    string
	CreatedAt   time.Time
}

// NewRecordingID returns a fresh recording ID: "rec_" and 128 random
// bits (live.recordingIDPattern).
func NewRecordingID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "rec_" + base64.RawURLEncoding.EncodeToString(b)
}

// SetRecordingKey stores (or replaces) an account's recording public key,
// unsigned.
func (s *DB) SetRecordingKey(ctx context.Context, userID string, pub []byte, at time.Time) error {
	return s.SetSignedRecordingKey(ctx, userID, pub, nil, at)
}

// SetSignedRecordingKey stores (or replaces) an account's recording
// public key with the signature its browser made of it (nil: none); the
// store does not read the signature.
func (s *DB) SetSignedRecordingKey(ctx context.Context, userID string, pub, signature []byte, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO recording_keys (user_id, public_key, signature, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET public_key = excluded.public_key, signature = excluded.signature, created_at = excluded.created_at`,
		userID, pub, signature, formatTime(at))
	if isForeignKey(err) {
		return ErrNotFound
	}
	return err
}

// RecordingKey returns an account's recording public key and when it was
// set, or ErrNotFound.
func (s *DB) RecordingKey(ctx context.Context, userID string) ([]byte, time.Time, error) {
	pub, _, at, err := s.SignedRecordingKey(ctx, userID)
	return pub, at, err
}

// SignedRecordingKey returns an account's recording public key, its
// signature (nil: none) and when it was set, or ErrNotFound.
func (s *DB) SignedRecordingKey(ctx context.Context, userID string) (pub, signature []byte, _ time.Time, _ error) {
	var at string
	err := s.db.QueryRowContext(ctx, `SELECT public_key, signature, created_at FROM recording_keys WHERE user_id = ?`, userID).Scan(&pub, &signature, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	t, err := parseTime(at)
	return pub, signature, t, err
}

// CreateRecording stores a new, open recording with its first readers
// (at least the recorder), in one transaction.
func (s *DB) CreateRecording(ctx context.Context, r Recording, readers []RecordingReader) error {
	err := s.inTx(ctx, func(tx *txn) error {
		e2ee := 0
		if r.E2EE {
			e2ee = 1
		}
		kind := r.Kind
		if kind == "" {
			kind = KindBrowser
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO recordings (id, meeting_id, recorder_id, e2ee, started_at, kind) VALUES (?, ?, ?, ?, ?, ?)`,
			r.ID, r.MeetingID, r.RecorderID, e2ee, formatTime(r.StartedAt), kind); err != nil {
			return err
		}
		for _, rd := range readers {
			if err := addReader(ctx, tx, rd); err != nil {
				return err
			}
		}
		return nil
	})
	if isForeignKey(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("create recording: %w", err)
	}
	return nil
}

func addReader(ctx context.Context, tx *txn, rd RecordingReader) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO recording_readers (recording_id, user_id, wrapped_key, shared_by, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (recording_id, user_id) DO UPDATE SET wrapped_key = excluded.wrapped_key, shared_by = excluded.shared_by, created_at = excluded.created_at`,
		rd.RecordingID, rd.UserID, rd.WrappedKey, rd.SharedBy, formatTime(rd.CreatedAt))
	return err
}

// AddRecordingReader gives (or gives again) an account access to a
// recording: its content key wrapped to the account's recording key.
func (s *DB) AddRecordingReader(ctx context.Context, rd RecordingReader) error {
	err := s.inTx(ctx, func(tx *txn) error { return addReader(ctx, tx, rd) })
	if isForeignKey(err) {
		return ErrNotFound
	}
	return err
}

// RecordingReaderOf returns one account's access to a recording, or
// ErrNotFound when it has none.
func (s *DB) RecordingReaderOf(ctx context.Context, recordingID, userID string) (RecordingReader, error) {
	rd := RecordingReader{RecordingID: recordingID, UserID: userID}
	var at string
	err := s.db.QueryRowContext(ctx, `SELECT wrapped_key, shared_by, created_at FROM recording_readers WHERE recording_id = ? AND user_id = ?`,
		recordingID, userID).Scan(&rd.WrappedKey, &rd.SharedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return rd, ErrNotFound
	}
	if err != nil {
		return rd, err
	}
	rd.CreatedAt, err = parseTime(at)
	return rd, err
}

// RecordingReaders lists the accounts that may read a recording.
func (s *DB) RecordingReaders(ctx context.Context, recordingID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user_id FROM recording_readers WHERE recording_id = ? ORDER BY created_at, user_id`, recordingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

const recordingColumns = `id, meeting_id, recorder_id, e2ee, started_at, finished_at, chunks, bytes, manifest, kind`

func scanRecording(row scanner) (Recording, error) {
	var r Recording
	var e2ee, chunks int64
	var started string
	var finished sql.NullString
	err := row.Scan(&r.ID, &r.MeetingID, &r.RecorderID, &e2ee, &started, &finished, &chunks, &r.Bytes, &r.Manifest, &r.Kind)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	r.E2EE, r.Chunks = e2ee != 0, int(chunks)
	if r.StartedAt, err = parseTime(started); err != nil {
		return r, err
	}
	if finished.Valid {
		r.FinishedAt, err = parseTime(finished.String)
	}
	return r, err
}

// RecordingByID returns a recording's metadata.
func (s *DB) RecordingByID(ctx context.Context, id string) (Recording, error) {
	return scanRecording(s.db.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE id = ?`, id))
}

// RecordingsOf lists the recordings an account recorded or may read,
// newest first.
func (s *DB) RecordingsOf(ctx context.Context, userID string) ([]Recording, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordingColumns+` FROM recordings
		WHERE recorder_id = ?1 OR id IN (SELECT recording_id FROM recording_readers WHERE user_id = ?1)
		ORDER BY started_at DESC, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutRecordingChunk stores chunk n of an open recording that recorderID
// recorded, replacing an earlier upload of the same chunk (a retry), as
// long as the recording stays within maxBytes.
func (s *DB) PutRecordingChunk(ctx context.Context, id, recorderID string, n int, data []byte, maxBytes int64) error {
	return s.inTx(ctx, func(tx *txn) error {
		r, err := scanRecording(tx.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE id = ? AND recorder_id = ?`, id, recorderID))
		if err != nil {
			return err
		}
		if !r.FinishedAt.IsZero() {
			return ErrRecordingClosed
		}
		var old int64
		err = tx.QueryRowContext(ctx, `SELECT LENGTH(data) FROM recording_chunks WHERE recording_id = ? AND n = ?`, id, n).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		replacing := err == nil
		total := r.Bytes - old + int64(len(data))
		if total > maxBytes {
			return ErrRecordingFull
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO recording_chunks (recording_id, n, data) VALUES (?, ?, ?)
			ON CONFLICT (recording_id, n) DO UPDATE SET data = excluded.data`, id, n, data); err != nil {
			return err
		}
		chunks := r.Chunks
		if !replacing {
			chunks++
		}
		_, err = tx.ExecContext(ctx, `UPDATE recordings SET bytes = ?, chunks = ? WHERE id = ?`, total, chunks, id)
		return err
	})
}

// FinishRecording closes an open recording with its manifest, once it
// holds exactly chunks 0 to chunks-1.
func (s *DB) FinishRecording(ctx context.Context, id, recorderID string, chunks int, manifest []byte, at time.Time) error {
	return s.inTx(ctx, func(tx *txn) error {
		r, err := scanRecording(tx.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE id = ? AND recorder_id = ?`, id, recorderID))
		if err != nil {
			return err
		}
		if !r.FinishedAt.IsZero() {
			return ErrRecordingClosed
		}
		var have int64
		var top sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MAX(n) FROM recording_chunks WHERE recording_id = ?`, id).Scan(&have, &top); err != nil {
			return err
		}
		if int(have) != chunks || (chunks > 0 && (!top.Valid || int(top.Int64) != chunks-1)) {
			return ErrChunksMissing
		}
		_, err = tx.ExecContext(ctx, `UPDATE recordings SET finished_at = ?, manifest = ? WHERE id = ?`, formatTime(at), manifest, id)
		return err
	})
}

// RecordingChunk returns chunk n of a recording.
func (s *DB) RecordingChunk(ctx context.Context, id string, n int) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM recording_chunks WHERE recording_id = ? AND n = ?`, id, n).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return data, err
}

// DeleteRecording deletes a recording that recorderID recorded, with its
// chunks and readers.
func (s *DB) DeleteRecording(ctx context.Context, id, recorderID string) error {
	n, err := s.execLocked(ctx, `DELETE FROM recordings WHERE id = ? AND recorder_id = ?`, id, recorderID)
	if err != nil {
		return fmt.Errorf("delete recording: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteOldRecordings deletes up to limit recordings that started before
// cut (the organisation's meeting retention), with their chunks and
// readers, and returns how many it deleted.
func (s *DB) DeleteOldRecordings(ctx context.Context, cut time.Time, limit int) (int64, error) {
	n, err := s.execLocked(ctx, s.d.pick(`DELETE FROM recordings WHERE id IN (
		SELECT id FROM recordings WHERE julianday(started_at) < julianday(?1) LIMIT ?2)`,
		`DELETE FROM recordings WHERE id IN (
		SELECT id FROM recordings WHERE started_at::timestamptz < ?1::text::timestamptz LIMIT ?2)`), formatTime(cut), limit)
	if err != nil {
		return 0, fmt.Errorf("delete old recordings: %w", err)
	}
	return n, nil
}
