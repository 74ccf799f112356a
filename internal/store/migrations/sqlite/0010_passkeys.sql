-- +goose Up
-- Passkeys (internal/auth/passkeys.go): the WebAuthn credentials an
-- account registered, each with the name its owner gave it. id is the
-- credential ID the authenticator chose, unique across every account;
-- credential the public key and what the authenticator told at
-- registration and since (sign count, flags, AAGUID, transports), as
-- JSON. No private key or biometric ever reaches the server.
CREATE TABLE passkeys (
    id            BLOB PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
) STRICT;
CREATE INDEX passkeys_user ON passkeys(user_id);
