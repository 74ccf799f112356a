package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// OpenSQLite opens (creating if needed) the database kaigi.db in dir and
// brings its schema up to date. sealer encrypts meeting passcodes at rest.
func OpenSQLite(ctx context.Context, dir string, sealer *auth.Sealer) (*DB, error) {
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
	unlock, err := lockMigrations(path + ".migrate")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer unlock()
	return open(ctx, db, sqliteDialect, sealer, path)
}
