-- +goose Up
-- Webhooks (internal/webhook): an administrator's endpoints for meeting
-- events, each with its secret sealed with the server key, and the
-- deliveries: pending ones (kept so a restart loses none) and the newest
-- finished ones of each webhook (its delivery log, at most 50).
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    secret      BLOB NOT NULL,                          -- sealed
    events      TEXT NOT NULL,                        -- space-separated
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL                         -- an administrator's account ID
) STRICT;

CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    webhook_id  TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    event       TEXT NOT NULL,
    payload     TEXT NOT NULL,                        -- the JSON sent: metadata only
    attempts    INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    next_at     TEXT,                                   -- due (pending)
    last_code   INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, created_at);
