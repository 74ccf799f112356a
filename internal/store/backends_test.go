package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
)

// The store's tests run against both databases: eachBackend runs a test
// once on a fresh SQLite database in a temporary directory and once on a
// fresh PostgreSQL database of the server pgtest starts for this test
// binary (skipped with the reason when PostgreSQL is not installed, failed
// under CI=true).

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// where is how a test database was opened, to open it again.
type where struct {
	dir string // SQLite's data directory
	url string // PostgreSQL's database URL
}

var opened sync.Map // *DB → where

// eachBackend runs f as a subtest per database, each with a database of
// its own.
func eachBackend(t *testing.T, f func(t *testing.T, s *DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, openBackend(t, "sqlite")) })
	t.Run("postgres", func(t *testing.T) { f(t, openBackend(t, "postgres")) })
}

// openBackend opens a new, empty database of one kind, closed when t ends.
func openBackend(t *testing.T, kind string) *DB {
	t.Helper()
	var w where
	if kind == "postgres" {
		w.url = pgtest.NewDatabase(t)
	} else {
		w.dir = t.TempDir()
	}
	s, err := reopenAt(w, testSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func reopenAt(w where, sealer *auth.Sealer) (*DB, error) {
	var s *DB
	var err error
	if w.url != "" {
		s, err = OpenPostgres(context.Background(), w.url, sealer)
	} else {
		s, err = OpenSQLite(context.Background(), w.dir, sealer)
	}
	if err == nil {
		opened.Store(s, w)
	}
	return s, err
}

// reopen opens s's database again (a second handle; the caller closes it).
func reopen(t *testing.T, s *DB, sealer *auth.Sealer) (*DB, error) {
	t.Helper()
	w, ok := opened.Load(s)
	if !ok {
		t.Fatal("reopen: not a test database")
	}
	return reopenAt(w.(where), sealer)
}

// sibling opens another new, empty database of s's kind.
func sibling(t *testing.T, s *DB) *DB {
	t.Helper()
	return openBackend(t, s.Dialect())
}

// rawDB opens s's database with the plain driver, bypassing the store
// (queries in the database's own dialect), closed when t ends.
func rawDB(t *testing.T, s *DB) *sql.DB {
	t.Helper()
	w, ok := opened.Load(s)
	if !ok {
		t.Fatal("rawDB: not a test database")
	}
	var db *sql.DB
	var err error
	if u := w.(where).url; u != "" {
		db, err = sql.Open("pgx", u)
	} else {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(w.(where).dir, "kaigi.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openTemp opens a new SQLite database in a temporary directory: for the
// tests of what only SQLite has.
func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	s := openBackend(t, "sqlite")
	w, _ := opened.Load(s)
	return s, w.(where).dir
}
