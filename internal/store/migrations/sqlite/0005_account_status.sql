-- +goose Up
-- An administrator (or the operator) can suspend an account, giving a
-- reason the account's owner is shown when they try to sign in.
ALTER TABLE users ADD COLUMN suspended_at TEXT;                     -- NULL: not suspended
ALTER TABLE users ADD COLUMN suspend_reason TEXT NOT NULL DEFAULT '';
