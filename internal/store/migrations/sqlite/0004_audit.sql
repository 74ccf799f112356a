-- +goose Up
-- The audit log (internal/audit): administrative and operator actions, each
-- entry hash-chained to the one before. Written in the same transaction as
-- the action it records. The triggers make accidental changes fail; they
-- do not stop someone who can write the file, which is what the hash chain
-- and a published head are for.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,  -- 1, 2, 3, ... without gaps
    at_ms        INTEGER NOT NULL,     -- Unix milliseconds
    actor_kind   TEXT NOT NULL,        -- user, operator, system
    actor_id     TEXT NOT NULL,        -- account ID for a user, else ''
    action       TEXT NOT NULL,        -- e.g. user.created
    subject_kind TEXT NOT NULL,        -- user, meeting, org, server
    subject_id   TEXT NOT NULL,
    reason       TEXT NOT NULL,        -- the reason the actor gave
    details      TEXT NOT NULL,        -- JSON object of short strings
    prev         BLOB NOT NULL,        -- the previous entry's hash
    hash         BLOB NOT NULL         -- SHA-256 of the canonical encoding
) STRICT;

CREATE INDEX audit_log_subject ON audit_log (subject_kind, subject_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, at_ms);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
-- +goose StatementEnd
