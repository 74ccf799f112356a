-- +goose Up
-- Accounts, sessions and two-factor recovery codes (internal/auth).
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash   TEXT NOT NULL,
    totp_secret     BLOB,            -- sealed with the server key
    totp_pending    BLOB,            -- sealed; enrolment not yet confirmed
    totp_last_step  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
) STRICT;

-- Session tokens are stored as SHA-256 hashes, never in the clear.
CREATE TABLE sessions (
    hash        BLOB PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE recovery_codes (
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash     BLOB NOT NULL,
    used_at  TEXT,
    PRIMARY KEY (user_id, hash)
) STRICT;

-- The organisation's policy: one row.
CREATE TABLE org (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    settings  TEXT NOT NULL  -- JSON
) STRICT;

-- Meetings gain an owner (their host), a kind, a schedule, settings and a
-- passcode (sealed). Meetings from before accounts existed stay open, as
-- they were.
ALTER TABLE meetings ADD COLUMN kind TEXT NOT NULL DEFAULT 'instant';
ALTER TABLE meetings ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN owner_id TEXT REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE meetings ADD COLUMN starts_at TEXT;
ALTER TABLE meetings ADD COLUMN duration_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN settings TEXT NOT NULL DEFAULT
    '{"passcode":false,"waitingRoom":false,"joinBeforeHost":true,"screenShare":"everyone","unmute":"everyone","chat":"everyone","rename":"everyone"}';
ALTER TABLE meetings ADD COLUMN passcode BLOB;
CREATE INDEX meetings_owner ON meetings(owner_id);
CREATE UNIQUE INDEX meetings_personal ON meetings(owner_id) WHERE kind = 'personal';

-- People a host removed and barred from one meeting.
CREATE TABLE meeting_bans (
    meeting_id  TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('user', 'device', 'address')),
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (meeting_id, kind, value)
) STRICT;
