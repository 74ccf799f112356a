-- +goose Up
-- Retention (internal/auth/retention.go): a meeting is deleted some time
-- after it was last used, so the server notes when someone last asked to
-- join it (at most once an hour per meeting). NULL: not since this column
-- exists; its creation (or a scheduled meeting's end) counts instead.
ALTER TABLE meetings ADD COLUMN last_used_at TEXT COLLATE "C";
