// Package store persists Kaigi's data, in one of two databases behind
// the same type (DB) and the same behaviour:
//
//   - SQLite (modernc.org/sqlite: pure Go, no cgo) in WAL mode, kaigi.db
//     in the server's data directory: the default, OpenSQLite;
//   - PostgreSQL through github.com/jackc/pgx/v5's database/sql driver,
//     for several nodes sharing one database: OpenPostgres, chosen by the
//     configuration's database URL (Open).
//
// The queries are shared, written for SQLite with ? placeholders and
// rewritten for PostgreSQL (dialect.go); the few that differ (time
// arithmetic in retention, lifting the audit log's guard) are written
// for each. Times are RFC 3339 UTC text in both. Write transactions
// follow one another in both: SQLite's begin IMMEDIATE, PostgreSQL's
// take one advisory lock first and lock the rows they read and write
// back (db.go), so the audit chain never forks and a check and the
// change it guards are one step.
//
// Schema changes are numbered SQL files, one per dialect under the same
// number (migrations/sqlite, migrations/postgres), applied in order at
// open by goose and recorded in schema_migrations (migrate.go).
//
// Consumers declare the small interfaces they need (for example
// signal.MeetingDirectory); *DB satisfies them.
package store
