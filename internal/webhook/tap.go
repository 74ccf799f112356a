package webhook

import (
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// Usage is the signalling server's usage hook (live.Usage, signal.Usage):
// Tap wraps the usage recorder with it, so the events come from where the
// usage figures are counted, with no change to the meeting's code.
type Usage interface {
	Continued(id meeting.ID, pids []meeting.ParticipantID)
	Admitted(id meeting.ID, room int, pid meeting.ParticipantID)
	Gone(id meeting.ID, room int, pid meeting.ParticipantID)
	Closed(id meeting.ID, room int)
}

// Emitter takes events (the Dispatcher).
type Emitter interface{ Emit(Event) }

// Tap passes every usage call on to next and turns them into events: a
// meeting starts when its first participant is admitted and ends when
// its main room closes; a participant joins or leaves a room (0 the main
// room, n breakout room n: a move to a breakout room is a left of one
// and a joined of the other; a resume is neither). Its methods only
// update memory under its own lock and queue events.
type Tap struct {
	next Usage
	out  Emitter
	now  func() time.Time

	mu   sync.Mutex
	runs map[meeting.ID]*tapRun
}

type tapRun struct {
	start time.Time
	seen  map[meeting.ParticipantID]bool
	in    map[tapPlace]bool
}

type tapPlace struct {
	room int
	pid  meeting.ParticipantID
}

// NewTap returns a Tap; next may be nil.
func NewTap(next Usage, out Emitter, now func() time.Time) *Tap {
	if now == nil {
		now = time.Now
	}
	return &Tap{next: next, out: out, now: now, runs: map[meeting.ID]*tapRun{}}
}

func newTapRun(now time.Time) *tapRun {
	return &tapRun{start: now, seen: map[meeting.ParticipantID]bool{}, in: map[tapPlace]bool{}}
}

// Continued: a meeting resumed after a restart; it started before, so
// nothing is sent.
func (t *Tap) Continued(id meeting.ID, pids []meeting.ParticipantID) {
	if t.next != nil {
		t.next.Continued(id, pids)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.runs[id] == nil {
		r := newTapRun(t.now())
		for _, p := range pids {
			r.seen[p] = true
		}
		t.runs[id] = r
	}
}

// Admitted: meeting.started for a meeting's first admission, and
// participant.joined.
func (t *Tap) Admitted(id meeting.ID, room int, pid meeting.ParticipantID) {
	if t.next != nil {
		t.next.Admitted(id, room, pid)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	r := t.runs[id]
	if r == nil {
		r = newTapRun(now)
		t.runs[id] = r
		t.out.Emit(Event{Type: MeetingStarted, Time: now, Meeting: string(id)})
	}
	at := tapPlace{room, pid}
	if r.in[at] {
		return // resumed
	}
	r.in[at], r.seen[pid] = true, true
	t.out.Emit(Event{Type: ParticipantJoined, Time: now, Meeting: string(id), Room: &room, Participant: string(pid)})
}

// Gone: participant.left.
func (t *Tap) Gone(id meeting.ID, room int, pid meeting.ParticipantID) {
	if t.next != nil {
		t.next.Gone(id, room, pid)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := t.runs[id]; r != nil {
		t.leftLocked(id, r, tapPlace{room, pid})
	}
}

func (t *Tap) leftLocked(id meeting.ID, r *tapRun, at tapPlace) {
	if !r.in[at] {
		return
	}
	delete(r.in, at)
	room := at.room
	t.out.Emit(Event{Type: ParticipantLeft, Time: t.now(), Meeting: string(id), Room: &room, Participant: string(at.pid)})
}

// Closed: the main room's close is meeting.ended (with how many were
// admitted and how long it ran); a breakout room's, participant.left for
// whoever was still in it.
func (t *Tap) Closed(id meeting.ID, room int) {
	if t.next != nil {
		t.next.Closed(id, room)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.runs[id]
	if r == nil {
		return
	}
	if room != 0 {
		for at := range r.in {
			if at.room == room {
				t.leftLocked(id, r, at)
			}
		}
		return
	}
	delete(t.runs, id)
	now := t.now()
	n, secs := len(r.seen), int64(now.Sub(r.start)/time.Second)
	t.out.Emit(Event{Type: MeetingEnded, Time: now, Meeting: string(id), Participants: &n, DurationSeconds: &secs})
}
