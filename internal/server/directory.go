package server

import (
	"context"
	"errors"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// directory adapts the store to what the signalling server needs.
type directory struct{ db *store.SQLite }

func (d directory) LookupMeeting(ctx context.Context, id meeting.ID) (meeting.Record, []meeting.Ban, bool, error) {
	rec, err := d.db.Meeting(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return rec, nil, false, nil
	}
	if err != nil {
		return rec, nil, false, err
	}
	bans, err := d.db.Bans(ctx, id)
	return rec, bans, err == nil, err
}

func (d directory) AddBans(ctx context.Context, id meeting.ID, bans []meeting.Ban) error {
	return d.db.AddBans(ctx, id, bans)
}

func (d directory) SaveSettings(ctx context.Context, id meeting.ID, s meeting.Settings) error {
	return d.db.UpdateMeetingSettings(ctx, id, s)
}
