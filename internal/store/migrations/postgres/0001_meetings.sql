-- +goose Up
-- PostgreSQL's side of migrations/sqlite/0001_meetings.sql: the same
-- tables, columns and meaning. Types: SQLite's TEXT stays text (times
-- are RFC 3339 UTC text in both, compared and sorted bytewise, hence
-- COLLATE "C"), INTEGER is bigint (SQLite's integers are 64-bit), BLOB
-- is bytea.
--
-- Meetings that have been created. A meeting's live state (who is in it)
-- is kept in memory by the signalling server; this table only says which
-- meeting IDs exist.
CREATE TABLE meetings (
    id         TEXT PRIMARY KEY,
    created_at TEXT COLLATE "C" NOT NULL
);
