package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Migrations: one numbered file per schema change and dialect, the same
// numbers on both sides (TestMigrationsMatch), applied in order at open
// by goose (github.com/pressly/goose/v3) and recorded in
// schema_migrations (version, applied_at), the table Kaigi's own runner
// kept before goose: data directories made by earlier versions carry on
// without conversion.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrations returns the dialect's migration files.
func (d *dialect) migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations/"+d.Name())
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// migrationLock is the PostgreSQL advisory lock goose holds while it
// migrates, so that nodes starting together migrate once.
const migrationLock = 0x6b61696769 + 1

// migrate applies the migrations not yet recorded, each in its own
// transaction.
func (s *DB) migrate(ctx context.Context) error {
	opts := []goose.ProviderOption{goose.WithStore(versionTable{s.d}), goose.WithDisableGlobalRegistry(true)}
	if s.d.postgres {
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLock))
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(goose.DialectCustom, s.db.DB, s.d.migrations(), opts...)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// versionTable is goose's record of applied migrations kept in
// schema_migrations as Kaigi always kept it: a row per applied version
// with the time it was applied. goose's version 0 (the empty schema) is
// implied rather than stored.
type versionTable struct{ d *dialect }

var _ database.StoreExtender = versionTable{}

func (v versionTable) Tablename() string { return "schema_migrations" }

func (v versionTable) CreateVersionTable(ctx context.Context, db database.DBTxConn) error {
	_, err := db.ExecContext(ctx, v.d.pick(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	) STRICT`, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`))
	return err
}

func (v versionTable) TableExists(ctx context.Context, db database.DBTxConn) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, v.d.pick(
		`SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`,
		`SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'`)).Scan(&n)
	return n > 0, err
}

func (v versionTable) Insert(ctx context.Context, db database.DBTxConn, req database.InsertRequest) error {
	if req.Version == 0 {
		return nil
	}
	_, err := db.ExecContext(ctx, v.d.rewrite(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`),
		req.Version, formatTime(time.Now()))
	return err
}

func (v versionTable) Delete(ctx context.Context, db database.DBTxConn, version int64) error {
	_, err := db.ExecContext(ctx, v.d.rewrite(`DELETE FROM schema_migrations WHERE version = ?`), version)
	return err
}

func (v versionTable) GetMigration(ctx context.Context, db database.DBTxConn, version int64) (*database.GetMigrationResult, error) {
	if version == 0 {
		return &database.GetMigrationResult{IsApplied: true}, nil
	}
	var at string
	err := db.QueryRowContext(ctx, v.d.rewrite(`SELECT applied_at FROM schema_migrations WHERE version = ?`), version).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %d", database.ErrVersionNotFound, version)
	}
	if err != nil {
		return nil, err
	}
	t, _ := parseTime(at)
	return &database.GetMigrationResult{Timestamp: t, IsApplied: true}, nil
}

func (v versionTable) GetLatestVersion(ctx context.Context, db database.DBTxConn) (int64, error) {
	var latest sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&latest); err != nil {
		return 0, err
	}
	return latest.Int64, nil // 0: nothing applied yet
}

func (v versionTable) ListMigrations(ctx context.Context, db database.DBTxConn) ([]*database.ListMigrationsResult, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*database.ListMigrationsResult
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, &database.ListMigrationsResult{Version: n, IsApplied: true})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return append(out, &database.ListMigrationsResult{Version: 0, IsApplied: true}), nil
}
