-- +goose Up
-- Single sign-on (internal/auth/sso.go): the organisation's OpenID
-- Connect provider, one row, its client secret sealed with the server
-- key; and the provider identities linked to accounts, each the pair the
-- provider names a person by (issuer, subject). created says the account
-- was made by its first single sign-on, so no one knows a password for it.
CREATE TABLE sso_provider (
    id             TEXT PRIMARY KEY CHECK (id = 'org'),
    enabled        INTEGER NOT NULL DEFAULT 0,
    issuer         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    client_secret  BLOB NOT NULL,                        -- sealed
    label          TEXT NOT NULL,
    domains        TEXT NOT NULL DEFAULT '',             -- space-separated
    allow_create   INTEGER NOT NULL DEFAULT 0,
    link_by_email  INTEGER NOT NULL DEFAULT 0,
    sso_only       INTEGER NOT NULL DEFAULT 0,
    updated_at     TEXT NOT NULL
) STRICT;

CREATE TABLE sso_identities (
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created       INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    PRIMARY KEY (issuer, subject)
) STRICT;
CREATE INDEX sso_identities_user ON sso_identities(user_id);
