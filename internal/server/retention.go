package server

import (
	"context"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// RetentionEvery is how often the retention job runs after the run at
// start. Its limits count from midnight UTC, so most runs find nothing
// (and record nothing); running hourly catches a day's change soon.
const RetentionEvery = time.Hour

// startRetention runs the retention job now and then every RetentionEvery
// until the run ends; stopping the run waits for a job in progress.
func (s *Server) startRetention(ctx context.Context) {
	done := make(chan struct{})
	stop := s.stopRun
	s.stopRun = func() {
		stop()
		<-done
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(RetentionEvery)
		defer tick.Stop()
		for {
			s.applyRetention(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// applyRetention runs the job once as the server (system), keeping the
// meetings in progress; a failure is logged and tried again next time.
func (s *Server) applyRetention(ctx context.Context) {
	_, err := s.accounts.ApplyRetention(ctx, s.db, auth.RetentionRun{Live: s.liveMeetingIDs})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("retention: the run failed; trying again later", "err", err)
	}
}

// liveMeetingIDs lists the meetings someone is in or waiting for.
func (s *Server) liveMeetingIDs() []string {
	live := s.signal.LiveMeetings()
	out := make([]string, len(live))
	for i, m := range live {
		out[i] = string(m.ID)
	}
	return out
}

// useMarkEvery is how often one meeting's last use is written at most.
const useMarkEvery = time.Hour

// usedDirectory is the directory that also notes when someone last asked
// to join each meeting (meetings.last_used_at), which retention counts
// from. A meeting's use is written at most once per useMarkEvery.
type usedDirectory struct {
	directory
	mu     sync.Mutex
	marked map[meeting.ID]time.Time
	log    interface{ Warn(string, ...any) }
}

func newUsedDirectory(d directory, log interface{ Warn(string, ...any) }) *usedDirectory {
	return &usedDirectory{directory: d, marked: map[meeting.ID]time.Time{}, log: log}
}

func (d *usedDirectory) LookupMeeting(ctx context.Context, id meeting.ID) (meeting.Record, []meeting.Ban, bool, error) {
	rec, bans, ok, err := d.directory.LookupMeeting(ctx, id)
	if ok && err == nil {
		d.markUsed(ctx, id, time.Now())
	}
	return rec, bans, ok, err
}

func (d *usedDirectory) markUsed(ctx context.Context, id meeting.ID, now time.Time) {
	d.mu.Lock()
	if now.Sub(d.marked[id]) < useMarkEvery {
		d.mu.Unlock()
		return
	}
	if len(d.marked) >= 10000 { // bounded: forgetting only costs a write
		clear(d.marked)
	}
	d.marked[id] = now
	d.mu.Unlock()
	if err := d.db.MarkMeetingUsed(ctx, id, now); err != nil {
		d.log.Warn("retention: note a meeting's use", "meeting", id, "err", err)
	}
}
