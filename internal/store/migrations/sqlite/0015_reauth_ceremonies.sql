-- +goose Up
-- Account-security follow-ups (internal/auth/reauth.go, ceremonies.go,
-- ssoflow.go).
--
-- sessions.reauth_at: when the session's holder last proved themselves
-- (a full sign-in, or the password, code or passkey again): creating API
-- tokens and other sensitive actions are allowed only shortly after.
ALTER TABLE sessions ADD COLUMN reauth_at TEXT;

-- users.email_verified: 1 when the account's e-mail was not typed by
-- whoever made the account: an administrator or the operator made it, or
-- the organisation's provider did (a verified e-mail). Only such an
-- account is linked to a single sign-on identity by its e-mail alone.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
UPDATE users SET email_verified = 1 WHERE id IN (
    SELECT subject_id FROM audit_log
    WHERE action = 'user.created' AND subject_kind = 'user' AND actor_kind IN ('user', 'operator'));
UPDATE users SET email_verified = 1 WHERE id IN (SELECT user_id FROM sso_identities WHERE created = 1);

-- Passkey ceremonies, single sign-on flows and sign-ins waiting for their
-- second step, so that any node can finish what another began: keyed by
-- the SHA-256 of the token the browser holds (never the token), bound to
-- the SHA-256 of the browser's binding cookie where the ceremony has one,
-- used once (deleted when taken), and dropped when expired. attempts
-- counts a sign-in's wrong second steps.
CREATE TABLE auth_ceremonies (
    token_hash  BLOB PRIMARY KEY,
    family      TEXT NOT NULL CHECK (family IN ('passkey', 'sso', 'signin')),
    bind        BLOB NOT NULL,
    data        TEXT NOT NULL,   -- JSON: the challenge, or the state's nonce and PKCE verifier
    attempts    INTEGER NOT NULL DEFAULT 0,
    expires_at  TEXT NOT NULL
) STRICT;
CREATE INDEX auth_ceremonies_expiry ON auth_ceremonies(family, expires_at);
