-- +goose Up
-- WHIP ingest tokens (internal/whip; docs/api.md, "WHIP ingest"): a
-- meeting's host makes one for a streaming program (OBS, GStreamer) to
-- publish into the meeting. Only the SHA-256 of a token is kept; the
-- token itself is shown once. A token ends when revoked (the row is
-- deleted), with its meeting or with the account that made it.
CREATE TABLE ingest_tokens (
    id            TEXT PRIMARY KEY,
    meeting_id    TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    hash          BLOB NOT NULL UNIQUE,                     -- SHA-256 of the token
    name          TEXT NOT NULL,                            -- shown in the roster
    created_by    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT                                      -- NULL: never used
) STRICT;
CREATE INDEX ingest_tokens_meeting ON ingest_tokens(meeting_id);
CREATE INDEX ingest_tokens_creator ON ingest_tokens(created_by);
