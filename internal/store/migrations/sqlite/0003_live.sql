-- +goose Up
-- Who is in each live meeting, kept so that a server that restarts (or
-- crashes) lets them back in with the resume token they hold. A row goes
-- when its participant leaves; rows a crashed run left behind go once
-- their people had time to come back.
CREATE TABLE live_participants (
    meeting_id     TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL,
    resume_hash    BLOB NOT NULL,  -- SHA-256 of the resume token, never the token
    state          TEXT NOT NULL,  -- JSON: name, role, identity, joined_at, admitted_by
    run            TEXT NOT NULL,  -- the server run that wrote it
    PRIMARY KEY (meeting_id, participant_id)
) STRICT;

-- The server run now keeping live_participants, and when it was last alive.
CREATE TABLE live_run (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    run       TEXT NOT NULL,
    alive_at  TEXT NOT NULL
) STRICT;
