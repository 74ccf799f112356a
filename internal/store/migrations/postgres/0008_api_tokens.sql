-- +goose Up
-- API tokens (internal/httpapi/tokens.go): a personal token acts for the
-- account that made it, an organisation token is made by an administrator
-- and acts with that administrator's account. Only the SHA-256 of a token
-- is kept; the token itself is shown once. A token ends with its account
-- (ON DELETE CASCADE), when revoked (the row is deleted) or at expires_at.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    hash          BYTEA NOT NULL UNIQUE,                    -- SHA-256 of the token
    kind          TEXT NOT NULL CHECK (kind IN ('personal', 'org')),
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,                            -- space-separated
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C",                         -- NULL: no expiry
    last_used_at  TEXT COLLATE "C"                          -- at most once a minute
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
