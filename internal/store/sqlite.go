package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound means the record does not exist.
var ErrNotFound = errors.New("not found")

// SQLite is the embedded database.
type SQLite struct {
	db *sql.DB
}

// Meeting is a created meeting's stored record.
type Meeting struct {
	ID        meeting.ID
	CreatedAt time.Time
}

// OpenSQLite opens (creating if needed) the database kaigi.db in dir and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, dir string) (*SQLite, error) {
	path := filepath.Join(dir, "kaigi.db")
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *SQLite) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// CreateMeeting records a new meeting.
func (s *SQLite) CreateMeeting(ctx context.Context, m Meeting) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meetings (id, created_at) VALUES (?, ?)`,
		string(m.ID), m.CreatedAt.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("create meeting %s: %w", m.ID, err)
	}
	return nil
}

// Meeting returns a meeting's record, or ErrNotFound.
func (s *SQLite) Meeting(ctx context.Context, id meeting.ID) (Meeting, error) {
	var created string
	err := s.db.QueryRowContext(ctx, `SELECT created_at FROM meetings WHERE id = ?`, string(id)).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return Meeting{}, fmt.Errorf("meeting %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Meeting{}, fmt.Errorf("meeting %s: %w", id, err)
	}
	t, err := time.Parse(time.RFC3339Nano, created)
	if err != nil {
		return Meeting{}, fmt.Errorf("meeting %s: bad created_at: %w", id, err)
	}
	return Meeting{ID: id, CreatedAt: t}, nil
}

// MeetingExists reports whether a meeting was created.
func (s *SQLite) MeetingExists(ctx context.Context, id meeting.ID) (bool, error) {
	_, err := s.Meeting(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction.
func (s *SQLite) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return err
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	type step struct {
		version int
		file    string
	}
	var steps []step
	for _, f := range files {
		base := filepath.Base(f)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %s: name must start with a number and _", base)
		}
		steps = append(steps, step{v, f})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].version < steps[j].version })

	for _, st := range steps {
		if err := s.applyMigration(ctx, st.version, st.file); err != nil {
			return fmt.Errorf("migration %s: %w", filepath.Base(st.file), err)
		}
	}
	return nil
}

func (s *SQLite) applyMigration(ctx context.Context, version int, file string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(file)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		version, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return err
	}
	return tx.Commit()
}
