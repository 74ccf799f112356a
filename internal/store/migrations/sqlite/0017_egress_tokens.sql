-- +goose Up
-- WHEP egress (internal/whip, whep.go; docs/api.md, "WHEP egress"): a
-- meeting's host makes tokens for a program to watch the meeting as it
-- makes tokens for one to stream in, in the same table. kind says which
-- a token is: "whip" streams in, "whep" watches; a token of one kind is
-- refused by the other's endpoint. Existing tokens stream in.
ALTER TABLE ingest_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'whip';
