package live

import (
	"context"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// Crash-safe resume. Who is admitted to each live meeting is kept in the
// store (KeptStore), written in the order the rooms change it by one
// writer goroutine, so that a restarted server (after a crash, kill -9
// included, or a graceful restart) lets each of them back in with the
// resume token they hold: same participant, same role, no waiting room.
// The end-to-end encrypted group is not kept (the server has none of its
// secrets): the returning members form a fresh one, told by welcome's
// e2eeRestart.

// KeptStore keeps who is admitted to live meetings across server runs.
type KeptStore interface {
	SaveKept(ctx context.Context, id meeting.ID, k meeting.Kept) error
	// DeleteKept forgets one participant; with pid "", the whole meeting.
	DeleteKept(ctx context.Context, id meeting.ID, pid meeting.ParticipantID) error
	// KeptBefore returns whom an earlier server run kept in the meeting.
	KeptBefore(ctx context.Context, id meeting.ID) ([]meeting.Kept, error)
}

// keptQueue is how many writes may wait for the store; past it a write is
// dropped (logged): a participant not kept only has to pass the waiting
// room again after a crash.
const keptQueue = 8192

type keptOp struct {
	meeting meeting.ID
	save    *meeting.Kept
	drop    meeting.ParticipantID // with save nil: "" drops the whole meeting
}

// keeper is the single writer of KeptStore.
type keeper struct {
	store KeptStore
	hub   *Hub

	mu     sync.Mutex
	closed bool
	ops    chan keptOp
	done   chan struct{}
}

func newKeeper(hub *Hub, store KeptStore) *keeper {
	k := &keeper{store: store, hub: hub, ops: make(chan keptOp, keptQueue), done: make(chan struct{})}
	go k.run()
	return k
}

func (k *keeper) run() {
	defer close(k.done)
	for op := range k.ops {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		if op.save != nil {
			err = k.store.SaveKept(ctx, op.meeting, *op.save)
		} else {
			err = k.store.DeleteKept(ctx, op.meeting, op.drop)
		}
		cancel()
		if err != nil {
			k.hub.log.Error("keep live meeting state", "meeting", op.meeting, "err", err)
		}
	}
}

func (k *keeper) put(op keptOp) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return
	}
	select {
	case k.ops <- op:
	default:
		k.hub.log.Warn("live meeting state not kept: the store is behind", "meeting", op.meeting)
	}
}

// close writes what is queued, then stops.
func (k *keeper) close(ctx context.Context) {
	if k == nil {
		return
	}
	k.mu.Lock()
	if !k.closed {
		k.closed = true
		close(k.ops)
	}
	k.mu.Unlock()
	select {
	case <-k.done:
	case <-ctx.Done():
	}
}

// keepLocked records an admitted member as they are now.
func (r *Room) keepLocked(pid meeting.ParticipantID) {
	m := r.members[pid]
	p, ok := r.core.Participant(pid)
	if m == nil || !ok || m.waiting || r.parent != nil {
		return // breakout rooms are not kept: after a restart, people come back to the main room
	}
	r.hub.keeper.put(keptOp{meeting: r.id, save: &meeting.Kept{Participant: p, ResumeHash: m.resumeHash, AdmittedBy: m.admittedBy}})
}

// unkeepLocked forgets a member who left; pid "" forgets everyone (the
// meeting ended).
func (r *Room) unkeepLocked(pid meeting.ParticipantID) {
	if r.parent != nil {
		return
	}
	r.hub.keeper.put(keptOp{meeting: r.id, drop: pid})
}

// restoreLocked puts back, in a room just opened, whom an earlier run of
// the server had admitted: shown as reconnecting, each with their resume
// grace, as after a lost connection.
func (r *Room) restoreLocked(kept []meeting.Kept) {
	var restored []meeting.ParticipantID
	defer func() { r.usageContinuedLocked(restored) }()
	for _, k := range kept {
		p, err := r.core.Restore(k.Participant)
		if err != nil {
			r.log.Info("not restoring a participant", "participant", k.Participant.ID, "err", err)
			r.unkeepLocked(k.Participant.ID)
			continue
		}
		m := &member{resumeHash: k.ResumeHash, admittedBy: k.AdmittedBy, restored: true}
		r.members[p.ID] = m
		pid := p.ID
		m.grace = time.AfterFunc(r.hub.opts.ResumeGrace, func() { r.expire(pid, m) })
		r.keepLocked(pid) // now this run's
		restored = append(restored, pid)
	}
	if len(kept) > 0 {
		r.log.Info("meeting restored after a restart", "participants", len(r.members))
	}
	r.e2eeRestoredLocked(restored)
}

// e2eeRestartLocked reports whether a returning member must leave the
// encrypted group its browser holds: the room was restored after a
// restart (or its node died), and the member does not continue the group
// from its own state (e2eeClaimLocked), so it joins a fresh one or is
// added anew.
func (r *Room) e2eeRestartLocked(pid meeting.ParticipantID) bool {
	m := r.members[pid]
	return m != nil && m.restored && r.e2eeOn() && !r.group.Continues(e2ee.Participant(pid))
}
