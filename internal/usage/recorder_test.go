package usage

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// clock is a fake clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memStore is a Store in memory, with the store's rules (sums added, the
// greater peak kept).
type memStore struct {
	mu    sync.Mutex
	days  map[string]Day
	fail  error
	added chan struct{} // told of each AddUsage, if set
}

func (m *memStore) AddUsage(_ context.Context, days []Day) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.added != nil {
		select {
		case m.added <- struct{}{}:
		default:
		}
	}
	if m.days == nil {
		m.days = map[string]Day{}
	}
	for _, d := range days {
		s := m.days[d.Date]
		s.Date = d.Date
		s.Meetings += d.Meetings
		s.Participants += d.Participants
		s.ParticipantSeconds += d.ParticipantSeconds
		s.MeetingSeconds += d.MeetingSeconds
		s.PeakParticipants = max(s.PeakParticipants, d.PeakParticipants)
		m.days[d.Date] = s
	}
	return nil
}

func (m *memStore) UsageDays(_ context.Context, from, to time.Time) ([]Day, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Day
	for _, d := range m.days {
		if d.Date >= from.Format(DateFormat) && d.Date <= to.Format(DateFormat) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date < out[j].Date })
	return out, nil
}

func newTestRecorder(t *testing.T, start time.Time) (*Recorder, *memStore, *clock) {
	t.Helper()
	c := &clock{t: start}
	st := &memStore{}
	r := NewRecorder(Options{Store: st, FlushEvery: -1, Now: c.now})
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, st, c
}

func flushed(t *testing.T, r *Recorder, st *memStore) map[string]Day {
	t.Helper()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]Day{}
	for k, v := range st.days {
		out[k] = v
	}
	return out
}

func TestRecorderCountsAMeeting(t *testing.T) {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	r, st, c := newTestRecorder(t, start)
	const m = meeting.ID("abc-defg-hij")

	r.Admitted(m, 0, "p1")
	c.advance(10 * time.Minute)
	r.Admitted(m, 0, "p2")
	r.Admitted(m, 0, "p2") // a resume: no new admission
	c.advance(20 * time.Minute)
	r.Gone(m, 0, "p1")
	c.advance(5 * time.Minute)
	r.Gone(m, 0, "p2")
	r.Closed(m, 0)
	c.advance(time.Hour) // nobody in a meeting: nothing accrues

	got := flushed(t, r, st)
	want := Day{Date: "2026-03-10", Meetings: 1, Participants: 2,
		ParticipantSeconds: int64((30*time.Minute + 25*time.Minute) / time.Second),
		MeetingSeconds:     int64(35 * time.Minute / time.Second),
		PeakParticipants:   2}
	if len(got) != 1 || got["2026-03-10"] != want {
		t.Fatalf("stored %+v, want only %+v", got, want)
	}
	// A second flush adds nothing more.
	if again := flushed(t, r, st); again["2026-03-10"] != want {
		t.Fatalf("after a second flush %+v, want %+v", again["2026-03-10"], want)
	}
}

// TestRecorderMeetingGoesOnAfterARestart: a meeting of p1 and p2 was
// counted by the server's earlier run; this run restores it with both
// kept. Their return is not a new meeting nor new admissions (before,
// the restart counted the meeting and both people twice); a newcomer is,
// and time accrues as usual. A second Continued for an open run changes
// nothing.
func TestRecorderMeetingGoesOnAfterARestart(t *testing.T) {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	r, st, c := newTestRecorder(t, start)
	const m = meeting.ID("abc-defg-hij")

	r.Continued(m, []meeting.ParticipantID{"p1", "p2"})
	r.Admitted(m, 0, "p1")
	r.Admitted(m, 0, "p2")
	r.Continued(m, []meeting.ParticipantID{"p3"})
	r.Admitted(m, 0, "p3")
	c.advance(10 * time.Minute)
	r.Closed(m, 0)

	got := flushed(t, r, st)
	want := Day{Date: "2026-03-10", Meetings: 0, Participants: 1,
		ParticipantSeconds: int64(30 * time.Minute / time.Second),
		MeetingSeconds:     int64(10 * time.Minute / time.Second),
		PeakParticipants:   3}
	if got["2026-03-10"] != want {
		t.Fatalf("stored %+v, want %+v", got["2026-03-10"], want)
	}
	// Nobody came back: the run closes with the room.
	r.Continued(m, []meeting.ParticipantID{"p1"})
	c.advance(30 * time.Second)
	r.Closed(m, 0)
	r.Admitted(m, 0, "p1") // a new meeting later on
	if got := flushed(t, r, st)["2026-03-10"]; got.Meetings != 1 || got.Participants != 2 {
		t.Fatalf("after the restored run closed, a new one counted %d meetings, %d participants in all; want 1 and 2", got.Meetings, got.Participants)
	}
}

func TestRecorderSplitsAtMidnight(t *testing.T) {
	start := time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC)
	r, st, c := newTestRecorder(t, start)
	const m = meeting.ID("abc-defg-hij")

	r.Admitted(m, 0, "p1")
	r.Admitted(m, 0, "p2")
	r.Admitted(m, 0, "p3")
	c.advance(15 * time.Minute) // 23:45
	r.Gone(m, 0, "p3")
	c.advance(45 * time.Minute) // 00:30 the next day
	r.Admitted(m, 0, "p4")
	c.advance(30 * time.Minute) // 01:00
	r.Closed(m, 0)

	got := flushed(t, r, st)
	first := Day{Date: "2026-03-10", Meetings: 1, Participants: 3,
		ParticipantSeconds: 3*15*60 + 2*15*60, MeetingSeconds: 30 * 60, PeakParticipants: 3}
	second := Day{Date: "2026-03-11", Participants: 1,
		ParticipantSeconds: 2*30*60 + 3*30*60, MeetingSeconds: 60 * 60, PeakParticipants: 3}
	if got[first.Date] != first || got[second.Date] != second || len(got) != 2 {
		t.Fatalf("stored %+v,\nwant %+v and %+v", got, first, second)
	}
}

func TestRecorderPeakCarriedIntoANewDay(t *testing.T) {
	// Two people in a meeting across midnight, nobody joins after it: the
	// new day's peak is the two already there.
	start := time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)
	r, st, c := newTestRecorder(t, start)
	r.Admitted("m1", 0, "a")
	r.Admitted("m2", 0, "b")
	r.Admitted("m2", 0, "c")
	r.Gone("m2", 0, "c")
	c.advance(2 * time.Hour)
	r.Gone("m1", 0, "a")
	got := flushed(t, r, st)
	if p := got["2026-03-10"].PeakParticipants; p != 3 {
		t.Errorf("first day's peak %d, want 3", p)
	}
	if p := got["2026-03-11"].PeakParticipants; p != 2 {
		t.Errorf("second day's peak %d, want 2", p)
	}
	if d := got["2026-03-11"]; d.Meetings != 0 || d.MeetingSeconds != 2*3600 || d.ParticipantSeconds != 3600+3600 {
		t.Errorf("second day %+v: want no new meeting, 2 meeting-hours (both still running), 2 participant-hours", d)
	}
}

func TestRecorderBreakoutRooms(t *testing.T) {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	r, st, c := newTestRecorder(t, start)
	const m = meeting.ID("abc-defg-hij")
	r.Admitted(m, 0, "host")
	r.Admitted(m, 0, "p")
	c.advance(time.Minute)
	// p moves to room 1: the new room's welcome may come before the main
	// room sees them leave. Neither is a new person or a new admission.
	r.Admitted(m, 1, "p")
	r.Gone(m, 0, "p")
	c.advance(time.Minute)
	// The breakout rooms close with p still in room 1; the host is in the
	// main room until it closes.
	r.Closed(m, 1)
	c.advance(time.Minute)
	r.Closed(m, 0)
	got := flushed(t, r, st)["2026-03-10"]
	want := Day{Date: "2026-03-10", Meetings: 1, Participants: 2, ParticipantSeconds: 2*60 + 2*60 + 60, MeetingSeconds: 3 * 60, PeakParticipants: 2}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestRecorderIgnoresWhatItDidNotCount(t *testing.T) {
	r, st, c := newTestRecorder(t, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	// A room that closes with nobody admitted (a refused join), someone
	// gone who was never admitted (waiting, or restored and never back).
	r.Closed("m1", 0)
	r.Gone("m1", 0, "x")
	r.Admitted("m2", 0, "a")
	r.Gone("m2", 0, "stranger")
	r.Gone("m2", 1, "a")
	c.advance(time.Minute)
	r.Closed("m2", 0)
	r.Closed("m2", 0)
	got := flushed(t, r, st)
	if d := got["2026-03-10"]; len(got) != 1 || d.Meetings != 1 || d.Participants != 1 || d.ParticipantSeconds != 60 || d.PeakParticipants != 1 {
		t.Fatalf("got %+v", got)
	}
	// After the meeting closed, the same participant ID in the same
	// meeting is a new run.
	r.Admitted("m2", 0, "a")
	r.Closed("m2", 0)
	if d := flushed(t, r, st)["2026-03-10"]; d.Meetings != 2 || d.Participants != 2 {
		t.Fatalf("after a second run %+v", d)
	}
}

func TestRecorderFiguresIncludeWhatIsPending(t *testing.T) {
	r, st, c := newTestRecorder(t, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	r.Admitted("m", 0, "a")
	c.advance(2 * time.Minute)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Admitted("m", 0, "b")
	c.advance(time.Minute) // still in the meeting: counted so far
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	days, err := r.Figures(context.Background(), day, day)
	if err != nil {
		t.Fatal(err)
	}
	want := Day{Date: "2026-03-10", Meetings: 1, Participants: 2, ParticipantSeconds: 120 + 120, MeetingSeconds: 180, PeakParticipants: 2}
	if len(days) != 1 || days[0] != want {
		t.Fatalf("figures %+v, want %+v", days, want)
	}
	// Reading adds nothing: after the flush, the store has the same.
	if got := flushed(t, r, st)["2026-03-10"]; got != want {
		t.Fatalf("stored %+v, want %+v", got, want)
	}
	// A day outside the range is left out.
	next := day.AddDate(0, 0, 1)
	if days, _ := r.Figures(context.Background(), next, next); len(days) != 0 {
		t.Fatalf("next day %+v", days)
	}
}

func TestRecorderKeepsFiguresAFailedFlushTook(t *testing.T) {
	r, st, c := newTestRecorder(t, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	r.Admitted("m", 0, "a")
	c.advance(90 * time.Second)
	r.Closed("m", 0)
	st.fail = errors.New("disk full")
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("flush into a failing store succeeded")
	}
	st.fail = nil
	got := flushed(t, r, st)["2026-03-10"]
	if got.Meetings != 1 || got.Participants != 1 || got.ParticipantSeconds != 90 || got.PeakParticipants != 1 {
		t.Fatalf("after a failed flush and a good one: %+v", got)
	}
}

func TestRecorderCarriesPartsOfSeconds(t *testing.T) {
	r, st, c := newTestRecorder(t, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	r.Admitted("m", 0, "a")
	for range 4 {
		c.advance(1500 * time.Millisecond)
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := flushed(t, r, st)["2026-03-10"].ParticipantSeconds; got != 6 {
		t.Fatalf("4 × 1.5 s flushed separately stored as %d s, want 6", got)
	}
}

func TestRecorderFlushesPeriodicallyAndAtClose(t *testing.T) {
	st := &memStore{added: make(chan struct{}, 1)}
	r := NewRecorder(Options{Store: st, FlushEvery: 5 * time.Millisecond})
	r.Admitted("m", 0, "a")
	select {
	case <-st.added: // the meeting in progress, flushed by the timer
	case <-time.After(10 * time.Second):
		t.Fatal("no periodic flush")
	}
	r.Closed("m", 0)
	r.Admitted("m2", 0, "b")
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var meetings int64
	for _, d := range st.days {
		meetings += d.Meetings
	}
	if meetings != 2 {
		t.Fatalf("after Close the store has %d meetings, want 2", meetings)
	}
}
