package live

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// fakeRecorder plays internal/recorder for the room: it records starts
// and stops, and can end a recording by itself.
type fakeRecorder struct {
	mu      sync.Mutex
	starts  []string // "meeting/user"
	stopped []string
	ended   func(string)
}

func (f *fakeRecorder) start(_ context.Context, m, u string, r *sfu.Router, ended func(string)) (string, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r == nil {
		return "", nil, errors.New("no router")
	}
	id := "rec_server000000000000000" + string(rune('a'+len(f.starts)))
	f.starts = append(f.starts, m+"/"+u)
	f.ended = ended
	return id, func() { f.mu.Lock(); f.stopped = append(f.stopped, id); f.mu.Unlock() }, nil
}

func (f *fakeRecorder) counts() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts), len(f.stopped)
}

// TestServerRecordingRefusedUnderE2EE: in an end-to-end encrypted
// meeting the server refuses to record, even for its host, and nothing is
// started or announced.
func TestServerRecordingRefusedUnderE2EE(t *testing.T) {
	hub, dir := newTestHub(t)
	if !dir.rec.Settings.E2EE {
		t.Fatal("the test meeting is not end-to-end encrypted")
	}
	rec := &fakeRecorder{}
	hub.opts.RecordOnServer = rec.start
	ada := &fakeConn{}
	room, adaID := join(t, hub, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("kp")})
	if err := room.RecordOnServer(adaID, ada); !errors.Is(err, ErrRecording) {
		t.Fatalf("the server recorded an end-to-end encrypted meeting: %v", err)
	}
	var got wire.Recording
	if n, _ := rec.counts(); n != 0 || ada.last(t, wire.TypeRecording, &got) {
		t.Fatalf("started %d, announced %+v", n, got)
	}
}

// TestServerRecording: in a meeting without end-to-end encryption a
// participant may not have the server record; the host may: the
// recorder starts for the host's account, everyone (and a joiner) is
// told the server records; a second recording is refused; a participant
// cannot stop it, the host can (the recorder is stopped, everyone told);
// a recording that ends by itself (a limit) is announced as ended
// without a stop; the room's close stops a running one.
func TestServerRecording(t *testing.T) {
	hub, dir := newTestHub(t)
	dir.rec.Settings.E2EE = false
	rec := &fakeRecorder{}
	ada, bob, cy := &fakeConn{}, &fakeConn{}, &fakeConn{}
	room, adaID := join(t, hub, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada"})
	_, bobID := join(t, hub, dir.rec.ID, bob, "bob", wire.ClientMessage{Name: "Bob"})
	if err := room.RecordOnServer(adaID, ada); !errors.Is(err, ErrRecording) {
		t.Fatalf("a server without a recorder recorded: %v", err)
	}
	hub.opts.RecordOnServer = rec.start
	if err := room.RecordOnServer(bobID, bob); !errors.Is(err, meeting.ErrForbidden) {
		t.Fatalf("a participant had the server record: %v", err)
	}
	if err := room.RecordOnServer(adaID, bob); !errors.Is(err, ErrNotAdmitted) {
		t.Fatalf("bob's connection started ada's server recording: %v", err)
	}
	if err := room.RecordOnServer(adaID, ada); err != nil {
		t.Fatal(err)
	}
	if n, _ := rec.counts(); n != 1 || rec.starts[0] != string(dir.rec.ID)+"/ada" {
		t.Fatalf("recorder started %v", rec.starts)
	}
	var got wire.Recording
	for name, c := range map[string]*fakeConn{"ada": ada, "bob": bob} {
		if !c.last(t, wire.TypeRecording, &got) || !got.On || !got.Server || got.By != string(adaID) || got.Recording == "" {
			t.Fatalf("%s was told %+v, want the server recording", name, got)
		}
	}
	_, _ = join(t, hub, dir.rec.ID, cy, "", wire.ClientMessage{Name: "Cy"})
	if !cy.last(t, wire.TypeRecording, &got) || !got.On || !got.Server {
		t.Fatalf("a joiner was told %+v", got)
	}
	if err := room.RecordOnServer(adaID, ada); !errors.Is(err, ErrRecording) {
		t.Fatalf("a second server recording: %v", err)
	}
	if err := room.Record(adaID, ada, true, "rec_0000000000000000000000"); !errors.Is(err, ErrRecording) {
		t.Fatalf("a browser recording during the server's: %v", err)
	}
	if err := room.Record(bobID, bob, false, ""); !errors.Is(err, meeting.ErrForbidden) {
		t.Fatalf("a participant stopped the server recording: %v", err)
	}
	if err := room.Record(adaID, ada, false, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, s := rec.counts(); return s == 1 })
	if !bob.last(t, wire.TypeRecording, &got) || got.On {
		t.Fatalf("bob was told %+v after the stop", got)
	}

	// Ended by itself.
	if err := room.RecordOnServer(adaID, ada); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	ended := rec.ended
	rec.mu.Unlock()
	ended("duration_limit")
	if !bob.last(t, wire.TypeRecording, &got) || got.On {
		t.Fatalf("bob was told %+v after the limit", got)
	}
	if _, s := rec.counts(); s != 1 {
		t.Fatalf("a recording that ended by itself was stopped again (%d stops)", s)
	}

	// The room closes.
	if err := room.RecordOnServer(adaID, ada); err != nil {
		t.Fatal(err)
	}
	room.close()
	waitFor(t, func() bool { _, s := rec.counts(); return s == 2 })
}

// waitFor waits, bounded, for cond (a stop runs on its own goroutine).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
