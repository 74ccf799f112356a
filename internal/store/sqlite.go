package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound means the record does not exist. It is auth.ErrNotFound, so
// the account flows recognise it.
var ErrNotFound = auth.ErrNotFound

// SQLite is the embedded database.
type SQLite struct {
	db     *sql.DB
	sealer *auth.Sealer
}

// OpenSQLite opens (creating if needed) the database kaigi.db in dir and
// brings its schema up to date. sealer encrypts meeting passcodes at rest.
func OpenSQLite(ctx context.Context, dir string, sealer *auth.Sealer) (*SQLite, error) {
	path := filepath.Join(dir, "kaigi.db")
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Connections beyond those in use close after 10 s idle: each holds
	// the database and its WAL open, so a burst of concurrent requests
	// would otherwise leave its files open for good. (The last writes of
	// a meeting come when the resume grace of someone who vanished ends,
	// 30 s after everyone else left; its files are closed 10 s later.)
	db.SetConnMaxIdleTime(10 * time.Second)
	s := &SQLite{db: db, sealer: sealer}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	// Before anything is sealed or opened (keyrotation.go).
	if sealer != nil {
		if err := s.settleKey(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *SQLite) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

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

// timeFormat is how times are stored: UTC, sortable text.
const timeFormat = time.RFC3339Nano

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeFormat, s) }

// inTx runs f in a transaction.
func (s *SQLite) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}
