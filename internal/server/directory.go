package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// Crash-safe resume: how long after a run was last alive what it kept is
// still worth restoring (clients give up reconnecting after 2 minutes),
// and how often a run says it is alive.
const (
	keptWindow  = 2 * time.Minute
	aliveEvery  = 15 * time.Second
	keptForRuns = keptWindow
)

// kept adapts the store's live_participants to the signalling server, for
// this run of the server.
type kept struct {
	db  *store.SQLite
	run string
}

func (k kept) SaveKept(ctx context.Context, id meeting.ID, p meeting.Kept) error {
	return k.db.SaveKept(ctx, id, p, k.run)
}

func (k kept) DeleteKept(ctx context.Context, id meeting.ID, pid meeting.ParticipantID) error {
	return k.db.DeleteKept(ctx, id, pid)
}

func (k kept) KeptBefore(ctx context.Context, id meeting.ID) ([]meeting.Kept, error) {
	return k.db.KeptBefore(ctx, id, k.run)
}

// startRun makes this run a keeper of live meetings (one a server: the
// nodes of a cluster share the database), says it is alive until ctx
// ends, and every keptForRuns forgets what runs no longer alive kept and
// nobody came back for.
func startRun(ctx context.Context, db *store.SQLite, log *slog.Logger) (kept, error) {
	b := make([]byte, 16)
	rand.Read(b)
	k := kept{db: db, run: hex.EncodeToString(b)}
	if err := db.StartRun(ctx, k.run, time.Now(), keptWindow); err != nil {
		return k, fmt.Errorf("live meetings: %w", err)
	}
	go func() {
		alive := time.NewTicker(aliveEvery)
		defer alive.Stop()
		// Every keptForRuns: what crashed runs kept (this server's
		// earlier runs, or other nodes' sharing the database) and nobody
		// came back for.
		forget := time.NewTicker(keptForRuns)
		defer forget.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-alive.C:
				if err := db.RunAlive(ctx, k.run, time.Now()); err != nil && ctx.Err() == nil {
					log.Warn("live meetings: record alive", "err", err)
				}
			case <-forget.C:
				if n, err := db.ForgetEarlierRuns(ctx, k.run, time.Now(), keptWindow); err != nil && ctx.Err() == nil {
					log.Warn("live meetings: forget earlier runs", "err", err)
				} else if n > 0 {
					log.Info("live meetings: forgot participants who did not come back after the restart", "participants", n)
				}
			}
		}
	}()
	return k, nil
}
