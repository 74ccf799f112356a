-- +goose Up
-- Recordings made in a participant's browser (internal/httpapi/
-- recordings.go; docs/security.md, "Recording"). The server holds only
-- what the browsers encrypted: it has no key to any of it.
--
-- recording_keys: an account's recording public key (X25519, 32 bytes),
-- to which browsers wrap recordings' content keys; the private key stays
-- in the owner's browsers.
CREATE TABLE recording_keys (
    user_id     TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    public_key  BLOB NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

-- recordings: one per recording, its meeting's ID (kept when the meeting
-- is deleted), the account whose browser recorded it, when, its size,
-- and once finished the manifest (encrypted by the recorder's browser).
CREATE TABLE recordings (
    id           TEXT PRIMARY KEY,
    meeting_id   TEXT NOT NULL,
    recorder_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    e2ee         INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    chunks       INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0,
    manifest     BLOB
) STRICT;
CREATE INDEX recordings_recorder ON recordings(recorder_id);
CREATE INDEX recordings_started ON recordings(started_at);

-- recording_chunks: the encrypted chunks, by index from 0.
CREATE TABLE recording_chunks (
    recording_id  TEXT NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    n             INTEGER NOT NULL,
    data          BLOB NOT NULL,
    PRIMARY KEY (recording_id, n)
) STRICT;

-- recording_readers: who may read a recording: its content key wrapped
-- (HPKE, RFC 9180) to the reader's recording key, by a browser that held
-- the content key (the recorder's, or a reader's who shared it).
CREATE TABLE recording_readers (
    recording_id  TEXT NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    wrapped_key   BLOB NOT NULL,
    shared_by     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (recording_id, user_id)
) STRICT;
CREATE INDEX recording_readers_user ON recording_readers(user_id);
