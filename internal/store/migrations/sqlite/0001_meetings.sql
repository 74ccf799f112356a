-- +goose Up
-- Meetings that have been created. A meeting's live state (who is in it)
-- is kept in memory by the signalling server; this table only says which
-- meeting IDs exist.
CREATE TABLE meetings (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
) STRICT;
