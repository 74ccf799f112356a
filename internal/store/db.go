package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// ErrNotFound means the record does not exist. It is auth.ErrNotFound, so
// the account flows recognise it.
var ErrNotFound = auth.ErrNotFound

// DB is Kaigi's database, SQLite (OpenSQLite) or PostgreSQL
// (OpenPostgres): the same code and the same behaviour over either.
type DB struct {
	db     handle
	sealer *auth.Sealer
	d      *dialect
}

// SQLite is DB's name from before there was a second backend; the server
// and the commands still use it.
type SQLite = DB

// Open opens the database the configuration names: with database empty,
// SQLite in dir (kaigi.db); with a postgres:// or postgresql:// URL,
// that PostgreSQL database. Either way the schema is brought up to date.
func Open(ctx context.Context, database, dir string, sealer *auth.Sealer) (*DB, error) {
	switch {
	case database == "":
		return OpenSQLite(ctx, dir, sealer)
	case IsPostgresURL(database):
		return OpenPostgres(ctx, database, sealer)
	default:
		return nil, errors.New("database: want empty (SQLite in the data directory) or a postgres:// URL")
	}
}

// IsPostgresURL reports whether s names a PostgreSQL database.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// open finishes opening either database: migrations, then an
// interrupted key rotation settled, before anything is sealed or opened
// (keyrotation.go). db is closed on failure.
func open(ctx context.Context, db *sql.DB, d *dialect, sealer *auth.Sealer, name string) (*DB, error) {
	s := &DB{db: handle{db, d}, sealer: sealer, d: d}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", name, err)
	}
	if sealer != nil {
		if err := s.settleKey(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Dialect names the database: "sqlite" or "postgres".
func (s *DB) Dialect() string { return s.d.Name() }

// timeFormat is how times are stored, in both databases: UTC text,
// nanoseconds kept (a PostgreSQL timestamptz would round them to
// microseconds, and the code would read back another time than it wrote).
const timeFormat = time.RFC3339Nano

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeFormat, s) }

// writeLock is the PostgreSQL advisory lock every write transaction
// takes first (inTx): writers follow one another as SQLite's IMMEDIATE
// transactions do, so a transaction that reads and then writes (the
// audit chain's head, the last-administrator guard, a meeting's stored
// lock) sees nothing change in between. The number is arbitrary
// ("kaigi" in ASCII) and only has to differ from goose's migration lock.
const writeLock = 0x6b61696769

// inTx runs f in a write transaction: IMMEDIATE in SQLite (see the DSN),
// holding writeLock in PostgreSQL.
func (s *DB) inTx(ctx context.Context, f func(*txn) error) error {
	tx, err := s.begin(ctx, s.db.DB.BeginTx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// execLocked runs one writing statement under the write lock (a
// transaction of its own) and returns the rows it changed: on PostgreSQL
// a statement that changes many rows outside the lock could take row
// locks in another order than a locked writer and be aborted as a
// deadlock.
func (s *DB) execLocked(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// begin starts a write transaction with beginTx (a pool's or one
// connection's). In PostgreSQL it is READ COMMITTED whatever the
// database's default_transaction_isolation: each statement then reads
// what the writers before the lock committed. Under REPEATABLE READ or
// SERIALIZABLE the snapshot would be taken by the statement that waits
// for the lock, before the previous writer committed, and writers that
// queued for the lock would fail (a duplicate audit seq, a
// serialization failure) instead of following one another.
func (s *DB) begin(ctx context.Context, beginTx func(context.Context, *sql.TxOptions) (*sql.Tx, error)) (*txn, error) {
	var opts *sql.TxOptions
	if s.d.postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := beginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	t := &txn{tx, s.d}
	if s.d.postgres {
		// Waiting for the lock holds a pooled connection: give up after 5 s
		// (as SQLite's busy_timeout does) rather than starve the readers.
		if _, err := t.ExecContext(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("write lock: %w", err)
		}
		if _, err := t.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(writeLock)); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("write lock: %w", err)
		}
	}
	return t, nil
}

// forUpdate is what a SELECT inside a write transaction ends with when
// it reads rows the transaction will change and that a statement outside
// any transaction could change meanwhile: SQLite's IMMEDIATE transaction
// already excludes every other writer; PostgreSQL locks the rows read.
func (s *DB) forUpdate() string { return s.d.pick("", " FOR UPDATE") }
