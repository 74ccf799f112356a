// Package usage counts how much the server is used, for the administrators'
// usage dashboard: per UTC day, the meetings held, the people admitted to
// them, participant-minutes and meeting-minutes, and the most people in
// meetings at once. The signalling server tells a Recorder when people are
// admitted to a meeting or leave it and when a meeting's rooms close
// (signal.Usage); the Recorder keeps running totals in memory and adds
// them to the store now and then, so the signalling path never waits on
// the database. Only day totals over the whole server are written: no
// meeting ID, participant ID, name or address leaves memory.
package usage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// DateFormat is how a day is written: its UTC date.
const DateFormat = "2006-01-02"

// Day is one UTC day's figures over every meeting on the server.
type Day struct {
	Date string // YYYY-MM-DD, UTC
	// Meetings is how many meetings started on the day (a meeting starts
	// when its first participant is admitted and ends when its last room
	// closes; one that spans midnight counts on the day it started, and
	// one that goes on across a restart of the server counts once).
	Meetings int64
	// Participants is how many people were admitted to a meeting on the
	// day, once per meeting: reconnecting, resuming after a restart of
	// the server or moving between breakout rooms is not a new admission,
	// leaving and joining again is.
	Participants int64
	// ParticipantSeconds adds up the time each participant spent in
	// meetings during the day (split at midnight).
	ParticipantSeconds int64
	// MeetingSeconds adds up the time each meeting was running during the
	// day (split at midnight).
	MeetingSeconds int64
	// PeakParticipants is the most people in meetings at once during the
	// day, over the whole server.
	PeakParticipants int64
}

// Store keeps the day totals.
type Store interface {
	// AddUsage adds each day's counts and seconds to what is stored and
	// keeps the greater of the two peaks, all in one transaction.
	AddUsage(ctx context.Context, days []Day) error
	// UsageDays returns the stored days from from to to (UTC dates,
	// inclusive), in order; days without a row are left out.
	UsageDays(ctx context.Context, from, to time.Time) ([]Day, error)
}

// Options configure a Recorder.
type Options struct {
	Store Store
	// FlushEvery is how often the totals go to the store; zero means a
	// minute. Negative: only when Flush or Close is called (tests).
	FlushEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Recorder counts usage from the signalling server's events. It
// implements signal.Usage; its methods only update memory under its own
// lock, which is never held while calling out.
type Recorder struct {
	store Store
	now   func() time.Time
	log   *slog.Logger

	// flushing serialises Flush and Figures, so that totals on their way
	// to the store are never missed or counted twice by a reader.
	flushing sync.Mutex

	mu      sync.Mutex
	runs    map[meeting.ID]*run
	people  int       // participants in meetings now, server-wide
	last    time.Time // the time accrued up to
	pending map[string]*tally

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// run is one meeting from its first admission to the close of its main
// room. Its participant IDs stay in memory only.
type run struct {
	seen  map[meeting.ParticipantID]bool // admitted to this run so far
	in    map[place]bool                 // where each participant is now
	rooms map[meeting.ParticipantID]int  // in how many rooms (a move may overlap)
}

// place is a participant in one room of a meeting: 0 is the main room, n
// breakout room n.
type place struct {
	room int
	pid  meeting.ParticipantID
}

// tally is a day's figures not yet in the store.
type tally struct {
	meetings, participants int64
	participant, meetingT  time.Duration
	peak                   int64
}

// NewRecorder returns a Recorder that flushes to opts.Store every
// opts.FlushEvery until Close.
func NewRecorder(opts Options) *Recorder {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FlushEvery == 0 {
		opts.FlushEvery = time.Minute
	}
	r := &Recorder{
		store:   opts.Store,
		now:     opts.Now,
		log:     opts.Logger,
		runs:    make(map[meeting.ID]*run),
		pending: make(map[string]*tally),
		last:    opts.Now(),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if opts.FlushEvery > 0 {
		go r.loop(opts.FlushEvery)
	} else {
		close(r.done)
	}
	return r
}

func (r *Recorder) loop(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := r.Flush(ctx); err != nil {
				r.log.Error("save usage figures", "err", err)
			}
			cancel()
		}
	}
}

// Continued opens the run of a meeting that was in progress when the
// server stopped, with the participants the server kept to resume it:
// the meeting was counted when it started, and so were they, so their
// return counts neither again (their time in it does). Nothing happens
// if the meeting's run is open already.
func (r *Recorder) Continued(id meeting.ID, pids []meeting.ParticipantID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accrueLocked(r.now())
	if r.runs[id] != nil {
		return
	}
	ru := newRun()
	for _, pid := range pids {
		ru.seen[pid] = true
	}
	r.runs[id] = ru
}

func newRun() *run {
	return &run{seen: map[meeting.ParticipantID]bool{}, in: map[place]bool{}, rooms: map[meeting.ParticipantID]int{}}
}

// Admitted counts a participant who entered a room of a meeting: the
// first admission opens the meeting's run.
func (r *Recorder) Admitted(id meeting.ID, room int, pid meeting.ParticipantID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.accrueLocked(now)
	ru := r.runs[id]
	if ru == nil {
		ru = newRun()
		r.runs[id] = ru
		r.tallyLocked(now).meetings++
	}
	at := place{room, pid}
	if ru.in[at] {
		return // resumed: already counted
	}
	ru.in[at] = true
	ru.rooms[pid]++
	if ru.rooms[pid] == 1 {
		r.people++
		if t := r.tallyLocked(now); int64(r.people) > t.peak {
			t.peak = int64(r.people)
		}
	}
	if !ru.seen[pid] {
		ru.seen[pid] = true
		r.tallyLocked(now).participants++
	}
}

// Gone counts a participant who left a room (left, removed, timed out).
func (r *Recorder) Gone(id meeting.ID, room int, pid meeting.ParticipantID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accrueLocked(r.now())
	if ru := r.runs[id]; ru != nil {
		r.goneLocked(ru, place{room, pid})
	}
}

func (r *Recorder) goneLocked(ru *run, at place) {
	if !ru.in[at] {
		return // never counted here (waiting, or restored and not back)
	}
	delete(ru.in, at)
	ru.rooms[at.pid]--
	if ru.rooms[at.pid] == 0 {
		delete(ru.rooms, at.pid)
		r.people--
	}
}

// Closed counts a room that closed with whoever was still in it: room 0,
// the main room, ends the meeting's run.
func (r *Recorder) Closed(id meeting.ID, room int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accrueLocked(r.now())
	ru := r.runs[id]
	if ru == nil {
		return
	}
	if room == 0 {
		r.people -= len(ru.rooms)
		delete(r.runs, id)
		return
	}
	for at := range ru.in {
		if at.room == room {
			r.goneLocked(ru, at)
		}
	}
}

// tallyLocked returns the pending figures of t's UTC day.
func (r *Recorder) tallyLocked(t time.Time) *tally {
	day := t.UTC().Format(DateFormat)
	tl := r.pending[day]
	if tl == nil {
		tl = &tally{}
		r.pending[day] = tl
	}
	return tl
}

// accrueLocked adds the time since the last event to the participant- and
// meeting-time of each UTC day it spans, and the people present to each
// new day's peak.
func (r *Recorder) accrueLocked(now time.Time) {
	if !now.After(r.last) {
		if now.Before(r.last) {
			r.last = now // the clock went back: nothing to add
		}
		return
	}
	for r.last.Before(now) {
		from := r.last.UTC()
		end := time.Date(from.Year(), from.Month(), from.Day()+1, 0, 0, 0, 0, time.UTC)
		if now.Before(end) {
			end = now
		}
		if r.people > 0 || len(r.runs) > 0 {
			t := r.tallyLocked(from)
			d := end.Sub(from)
			t.participant += d * time.Duration(r.people)
			t.meetingT += d * time.Duration(len(r.runs))
			if int64(r.people) > t.peak {
				t.peak = int64(r.people)
			}
		}
		r.last = end
	}
	r.last = now // keeps the monotonic reading
}

// take removes the whole seconds of the pending figures, to be stored;
// what is less than a second stays for later.
func (r *Recorder) takeLocked() []Day {
	r.accrueLocked(r.now())
	today := r.last.UTC().Format(DateFormat)
	var out []Day
	for day, t := range r.pending {
		d := Day{Date: day, Meetings: t.meetings, Participants: t.participants,
			ParticipantSeconds: int64(t.participant / time.Second), MeetingSeconds: int64(t.meetingT / time.Second),
			PeakParticipants: t.peak}
		t.meetings, t.participants, t.peak = 0, 0, 0
		t.participant -= time.Duration(d.ParticipantSeconds) * time.Second
		t.meetingT -= time.Duration(d.MeetingSeconds) * time.Second
		if day != today {
			delete(r.pending, day) // less than a second of a past day is dropped
		}
		if d != (Day{Date: day}) {
			out = append(out, d)
		}
	}
	return out
}

// putBackLocked returns figures a failed flush took.
func (r *Recorder) putBackLocked(days []Day) {
	for _, d := range days {
		t := r.pending[d.Date]
		if t == nil {
			t = &tally{}
			r.pending[d.Date] = t
		}
		t.meetings += d.Meetings
		t.participants += d.Participants
		t.participant += time.Duration(d.ParticipantSeconds) * time.Second
		t.meetingT += time.Duration(d.MeetingSeconds) * time.Second
		t.peak = max(t.peak, d.PeakParticipants)
	}
}

// Flush adds the figures so far, meetings in progress included, to the
// store. On failure they stay pending for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	days := r.takeLocked()
	r.mu.Unlock()
	if len(days) == 0 {
		return nil
	}
	if err := r.store.AddUsage(ctx, days); err != nil {
		r.mu.Lock()
		r.putBackLocked(days)
		r.mu.Unlock()
		return err
	}
	return nil
}

// Figures returns the days from from to to (UTC dates, inclusive) as
// stored, with what is not stored yet added, meetings in progress
// included; days with nothing are left out.
func (r *Recorder) Figures(ctx context.Context, from, to time.Time) ([]Day, error) {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	r.accrueLocked(r.now())
	extra := make(map[string]Day, len(r.pending))
	for day, t := range r.pending {
		extra[day] = Day{Date: day, Meetings: t.meetings, Participants: t.participants,
			ParticipantSeconds: int64(t.participant / time.Second), MeetingSeconds: int64(t.meetingT / time.Second),
			PeakParticipants: t.peak}
	}
	r.mu.Unlock()
	stored, err := r.store.UsageDays(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return merge(stored, extra, from.UTC().Format(DateFormat), to.UTC().Format(DateFormat)), nil
}

// Close stops the periodic flush and flushes what is left (call it after
// the signalling server has shut down, before the store closes).
func (r *Recorder) Close(ctx context.Context) error {
	r.once.Do(func() { close(r.stop) })
	<-r.done
	return r.Flush(ctx)
}
