-- +goose Up
-- The audit log (internal/audit): administrative and operator actions, each
-- entry hash-chained to the one before. Written in the same transaction as
-- the action it records. The triggers make accidental changes fail
-- (TRUNCATE included); they do not stop the table's owner, who can drop
-- them, which is what the hash chain and a published head are for.
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,   -- 1, 2, 3, ... without gaps
    at_ms        BIGINT NOT NULL,      -- Unix milliseconds
    actor_kind   TEXT NOT NULL,        -- user, operator, system
    actor_id     TEXT NOT NULL,        -- account ID for a user, else ''
    action       TEXT NOT NULL,        -- e.g. user.created
    subject_kind TEXT NOT NULL,        -- user, meeting, org, server
    subject_id   TEXT NOT NULL,
    reason       TEXT NOT NULL,        -- the reason the actor gave
    details      TEXT NOT NULL,        -- JSON object of short strings
    prev         BYTEA NOT NULL,       -- the previous entry's hash
    hash         BYTEA NOT NULL        -- SHA-256 of the canonical encoding
);

CREATE INDEX audit_log_subject ON audit_log (subject_kind, subject_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, at_ms);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
-- TRUNCATE fires no row triggers: refused on its own.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
