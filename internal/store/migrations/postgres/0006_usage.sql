-- +goose Up
-- Usage figures for the administrators' dashboard: one row per UTC day,
-- sums and a peak over every meeting on the server. Nothing here names a
-- meeting or a person (internal/usage counts in memory and writes only
-- these totals). Pruned by date: DELETE FROM usage_days WHERE day < $1.
CREATE TABLE usage_days (
    day                 TEXT COLLATE "C" PRIMARY KEY,                         -- YYYY-MM-DD, UTC
    meetings            BIGINT NOT NULL DEFAULT 0 CHECK (meetings >= 0),            -- meetings that started that day
    participants        BIGINT NOT NULL DEFAULT 0 CHECK (participants >= 0),        -- admissions to meetings that day
    participant_seconds BIGINT NOT NULL DEFAULT 0 CHECK (participant_seconds >= 0), -- time in meetings, added over participants
    meeting_seconds     BIGINT NOT NULL DEFAULT 0 CHECK (meeting_seconds >= 0),     -- time meetings ran, added over meetings
    peak_participants   BIGINT NOT NULL DEFAULT 0 CHECK (peak_participants >= 0)    -- most people in meetings at once
);
