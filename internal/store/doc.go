// Package store persists Kaigi's data. This version has one backend, SQLite
// (modernc.org/sqlite: pure Go, no cgo) in WAL mode, in the server's data
// directory. Schema changes are numbered SQL files under migrations/,
// applied in order at start and recorded in schema_migrations.
//
// Consumers declare the small interfaces they need (for example
// signal.MeetingDirectory); *SQLite satisfies them.
package store
