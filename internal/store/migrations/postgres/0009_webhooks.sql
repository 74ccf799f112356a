-- +goose Up
-- Webhooks (internal/webhook): an administrator's endpoints for meeting
-- events, each with its secret sealed with the server key, and the
-- deliveries: pending ones (kept so a restart loses none) and the newest
-- finished ones of each webhook (its delivery log, at most 50).
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    secret      BYTEA NOT NULL,                          -- sealed
    events      TEXT NOT NULL,                        -- space-separated
    enabled     BIGINT NOT NULL DEFAULT 1,
    created_at  TEXT COLLATE "C" NOT NULL,
    created_by  TEXT NOT NULL                         -- an administrator's account ID
);

CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    webhook_id  TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id    TEXT NOT NULL,
    event       TEXT NOT NULL,
    payload     TEXT NOT NULL,                        -- the JSON sent: metadata only
    attempts    BIGINT NOT NULL DEFAULT 0,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    next_at     TEXT COLLATE "C",                                   -- due (pending)
    last_code   BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, created_at);
