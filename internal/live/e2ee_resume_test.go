package live

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// memKept is a KeptStore in memory, shared by two hubs as two nodes (or
// two runs of one server) share the database.
type memKept struct {
	mu   sync.Mutex
	rows map[meeting.ParticipantID]meeting.Kept
}

func (k *memKept) SaveKept(_ context.Context, _ meeting.ID, row meeting.Kept) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rows[row.Participant.ID] = row
	return nil
}

func (k *memKept) DeleteKept(_ context.Context, _ meeting.ID, pid meeting.ParticipantID) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if pid == "" {
		clear(k.rows)
	} else {
		delete(k.rows, pid)
	}
	return nil
}

func (k *memKept) KeptBefore(context.Context, meeting.ID) ([]meeting.Kept, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []meeting.Kept
	for _, row := range k.rows {
		out = append(out, row)
	}
	return out, nil
}

func keptHub(t *testing.T, dir *directory, kept KeptStore) *Hub {
	t.Helper()
	s, err := sfu.New(sfu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hub := NewHub(Options{Meetings: dir, SFU: s, Kept: kept, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() {
		hub.Close()
		s.Close()
	})
	return hub
}

// TestE2EEGroupContinuesOnAnotherNode: a meeting's room dies with its node
// (here: a hub that is simply no longer used, its keeper flushed) while
// the members' clients keep their MLS state. On the node that opens the
// meeting from the database, the members who prove the same epoch go on
// in the group they hold: welcome says so (e2eeEpoch, no e2eeRestart),
// nobody is asked to create a group, and the next commit is on that
// epoch. A member that missed the last commit is told to leave its group
// and is added anew by a member, its old leaf replaced in the same commit.
func TestE2EEGroupContinuesOnAnotherNode(t *testing.T) {
	_, dir := newTestHub(t)
	kept := &memKept{rows: map[meeting.ParticipantID]meeting.Kept{}}
	hub1 := keptHub(t, dir, kept)
	id := dir.rec.ID
	ada, bob, cy := &fakeConn{}, &fakeConn{}, &fakeConn{}
	room1, adaID := join(t, hub1, id, ada, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("ada 1")})
	addNext := func(epoch uint64) {
		t.Helper()
		var job wire.E2EEJob
		if !ada.last(t, wire.TypeE2EEJob, &job) || job.Epoch != epoch || len(job.Add) != 1 {
			t.Fatalf("ada's job: %+v", job)
		}
		if err := room1.E2EECommit(adaID, ada, &wire.ClientMessage{Epoch: job.Epoch, Commit: []byte("add"), Welcome: []byte("w")}); err != nil {
			t.Fatal(err)
		}
	}
	_, bobID := join(t, hub1, id, bob, "", wire.ClientMessage{Name: "Bob", KeyPackage: []byte("bob 1")})
	addNext(0)
	_, cyID := join(t, hub1, id, cy, "", wire.ClientMessage{Name: "Cy", KeyPackage: []byte("cy 1")})
	addNext(1)
	// A commit to epoch 3 reaches bob; the node dies before cy gets it.
	if err := room1.E2EECommit(adaID, ada, &wire.ClientMessage{Epoch: 2, Reason: "update", Commit: []byte("update")}); err != nil {
		t.Fatal(err)
	}
	token := func(c *fakeConn) string {
		var w wire.Welcome
		c.last(t, wire.TypeWelcome, &w)
		return w.Resume
	}
	adaTok, bobTok, cyTok := token(ada), token(bob), token(cy)
	hub1.Flush(context.Background())

	hub2 := keptHub(t, dir, kept)
	epoch := func(e uint64) *uint64 { return &e }
	p2, p1 := bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{1}, 32)
	ada2, bob2, cy2 := &fakeConn{}, &fakeConn{}, &fakeConn{}
	room2, again := join(t, hub2, id, ada2, "ada", wire.ClientMessage{Name: "Ada", Resume: adaTok, KeyPackage: []byte("ada 2"), E2EEEpoch: epoch(3), E2EEProof: p2})
	if again != adaID {
		t.Fatalf("ada back as %s", again)
	}
	var w wire.Welcome
	if !ada2.last(t, wire.TypeWelcome, &w) || !w.Resumed || w.E2EERestart || w.E2EEEpoch == nil || *w.E2EEEpoch != 3 {
		t.Fatalf("ada's welcome: resumed %v restart %v epoch %v, want the group to continue at 3", w.Resumed, w.E2EERestart, w.E2EEEpoch)
	}
	var job wire.E2EEJob
	if ada2.last(t, wire.TypeE2EEJob, &job) {
		t.Fatalf("ada was given a job %+v with nothing to do (a create would start the group over)", job)
	}
	w = wire.Welcome{}
	join(t, hub2, id, bob2, "", wire.ClientMessage{Name: "Bob", Resume: bobTok, KeyPackage: []byte("bob 2"), E2EEEpoch: epoch(3), E2EEProof: p2})
	if !bob2.last(t, wire.TypeWelcome, &w) || w.E2EERestart || w.E2EEEpoch == nil || *w.E2EEEpoch != 3 {
		t.Fatalf("bob's welcome: restart %v epoch %v", w.E2EERestart, w.E2EEEpoch)
	}
	// The group goes on: bob's key update on epoch 3 reaches ada.
	if err := room2.E2EECommit(bobID, bob2, &wire.ClientMessage{Epoch: 3, Reason: "update", Commit: []byte("bob's update")}); err != nil {
		t.Fatal(err)
	}
	var relayed wire.E2EECommit
	if !ada2.last(t, wire.TypeE2EECommit, &relayed) || relayed.Epoch != 4 || string(relayed.Commit) != "bob's update" {
		t.Fatalf("ada got %+v", relayed)
	}

	// Cy missed the commit to epoch 3: leave, and be added anew.
	join(t, hub2, id, cy2, "", wire.ClientMessage{Name: "Cy", Resume: cyTok, KeyPackage: []byte("cy 2"), E2EEEpoch: epoch(2), E2EEProof: p1})
	w = wire.Welcome{}
	if !cy2.last(t, wire.TypeWelcome, &w) || !w.E2EERestart || w.E2EEEpoch != nil {
		t.Fatalf("cy's welcome: restart %v epoch %v, want a restart", w.E2EERestart, w.E2EEEpoch)
	}
	if !ada2.last(t, wire.TypeE2EEJob, &job) || job.Epoch != 4 || len(job.Remove) != 1 || job.Remove[0].Participant != string(cyID) ||
		len(job.Add) != 1 || string(job.Add[0].KeyPackage) != "cy 2" {
		t.Fatalf("ada's job: %+v, want cy removed and added with her new KeyPackage", job)
	}
	if err := room2.E2EECommit(adaID, ada2, &wire.ClientMessage{Epoch: 4, Commit: []byte("readd"), Welcome: []byte("cy's welcome")}); err != nil {
		t.Fatal(err)
	}
	var ew wire.E2EEWelcome
	if !cy2.last(t, wire.TypeE2EEWelcome, &ew) || ew.Epoch != 5 {
		t.Fatalf("cy's e2ee_welcome: %+v", ew)
	}
}

// TestE2EELostGroupWaitsForItsMembers: on the node that takes a meeting
// over, a joiner who arrives before the members who hold the group is not
// asked to create a fresh one (which would start the group over for
// everyone); once a member continues the group, that member adds the
// joiner on the group's epoch.
func TestE2EELostGroupWaitsForItsMembers(t *testing.T) {
	_, dir := newTestHub(t)
	kept := &memKept{rows: map[meeting.ParticipantID]meeting.Kept{}}
	hub1 := keptHub(t, dir, kept)
	ada := &fakeConn{}
	join(t, hub1, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("ada 1")})
	var w wire.Welcome
	ada.last(t, wire.TypeWelcome, &w)
	hub1.Flush(context.Background())

	hub2 := keptHub(t, dir, kept)
	eve, ada2 := &fakeConn{}, &fakeConn{}
	_, eveID := join(t, hub2, dir.rec.ID, eve, "", wire.ClientMessage{Name: "Eve", KeyPackage: []byte("eve")})
	var job wire.E2EEJob
	if eve.last(t, wire.TypeE2EEJob, &job) {
		t.Fatalf("Eve, first on the node that took the meeting over, got %+v while Ada may still continue the group", job)
	}
	zero := uint64(0)
	join(t, hub2, dir.rec.ID, ada2, "ada", wire.ClientMessage{Name: "Ada", Resume: w.Resume, KeyPackage: []byte("ada 2"), E2EEEpoch: &zero, E2EEProof: bytes.Repeat([]byte{9}, 32)})
	w = wire.Welcome{}
	if !ada2.last(t, wire.TypeWelcome, &w) || w.E2EERestart || w.E2EEEpoch == nil {
		t.Fatalf("Ada's welcome: restart %v, epoch %v", w.E2EERestart, w.E2EEEpoch)
	}
	if !ada2.last(t, wire.TypeE2EEJob, &job) || job.Create || job.Epoch != 0 || len(job.Add) != 1 || job.Add[0].Participant != string(eveID) {
		t.Fatalf("Ada's job: %+v, want her to add Eve on epoch 0", job)
	}
	if eve.last(t, wire.TypeE2EEJob, &job) {
		t.Fatalf("Eve got %+v", job)
	}
}
