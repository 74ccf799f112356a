-- +goose Up
-- Usage figures for the administrators' dashboard: one row per UTC day,
-- sums and a peak over every meeting on the server. Nothing here names a
-- meeting or a person (internal/usage counts in memory and writes only
-- these totals). Pruned by date: DELETE FROM usage_days WHERE day < ?.
CREATE TABLE usage_days (
    day                 TEXT PRIMARY KEY,                                      -- YYYY-MM-DD, UTC
    meetings            INTEGER NOT NULL DEFAULT 0 CHECK (meetings >= 0),            -- meetings that started that day
    participants        INTEGER NOT NULL DEFAULT 0 CHECK (participants >= 0),        -- admissions to meetings that day
    participant_seconds INTEGER NOT NULL DEFAULT 0 CHECK (participant_seconds >= 0), -- time in meetings, added over participants
    meeting_seconds     INTEGER NOT NULL DEFAULT 0 CHECK (meeting_seconds >= 0),     -- time meetings ran, added over meetings
    peak_participants   INTEGER NOT NULL DEFAULT 0 CHECK (peak_participants >= 0)    -- most people in meetings at once
) STRICT;
