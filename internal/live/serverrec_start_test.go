package live

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestServerRecordingStarterLeavesWhileStarting (attacker's
// review, session 21): the host asks the server to record and leaves
// while the recorder starts (its store write): the recorder, once
// started, is stopped at once; nobody is ever told the meeting is being
// recorded by someone who is not there, a joiner is told nothing, and
// the room holds no recording afterwards.
func TestServerRecordingStarterLeavesWhileStarting(t *testing.T) {
	hub, dir := newTestHub(t)
	dir.rec.Settings.E2EE = false
	entered, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var starts, stops int
	hub.opts.RecordOnServer = func(_ context.Context, _, _ string, r *sfu.Router, _ func(string)) (string, func(), error) {
		if r == nil {
			return "", nil, errors.New("no router")
		}
		mu.Lock()
		starts++
		n := starts
		mu.Unlock()
		if n == 1 {
			close(entered)
			<-release
		}
		return "rec_review21000000000000" + string(rune('a'+n)), func() { mu.Lock(); stops++; mu.Unlock() }, nil
	}
	ada, bob, cy := &fakeConn{}, &fakeConn{}, &fakeConn{}
	room, adaID := join(t, hub, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada"})
	_, _ = join(t, hub, dir.rec.ID, bob, "bob", wire.ClientMessage{Name: "Bob"})
	done := make(chan error, 1)
	go func() { done <- room.RecordOnServer(adaID, ada) }()
	<-entered
	room.Leave(adaID, ada)
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("record: %v", err)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return stops == 1 })
	var got wire.Recording
	if bob.last(t, wire.TypeRecording, &got) && got.On {
		t.Fatalf("bob was told %+v: a recording by someone who left", got)
	}
	_, _ = join(t, hub, dir.rec.ID, cy, "", wire.ClientMessage{Name: "Cy"})
	if cy.last(t, wire.TypeRecording, &got) && got.On {
		t.Fatalf("a joiner was told %+v", got)
	}
	// Nothing runs: a recording may start again.
	room.mu.Lock()
	running := room.recording != nil
	room.mu.Unlock()
	if running {
		t.Fatal("the room still holds a recording")
	}
}
