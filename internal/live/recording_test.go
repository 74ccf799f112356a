package live

import (
	"errors"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestRecordingStateReachesEveryone: a participant may not start a
// recording; the host (signed in) starts one and every member is told
// who records; a joiner is told on admission; a second start is refused;
// when the recorder leaves, everyone is told it stopped.
func TestRecordingStateReachesEveryone(t *testing.T) {
	hub, dir := newTestHub(t)
	ada, bob, cy := &fakeConn{}, &fakeConn{}, &fakeConn{}
	const id = "rec_8Hx2cQmJ4nT0pV7aLw3sYb"

	room, adaID := join(t, hub, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("kp")})
	_, bobID := join(t, hub, dir.rec.ID, bob, "bob", wire.ClientMessage{Name: "Bob", KeyPackage: []byte("kp")})

	if err := room.Record(bobID, bob, true, id); !errors.Is(err, meeting.ErrForbidden) {
		t.Fatalf("a participant started a recording: %v", err)
	}
	if err := room.Record(adaID, ada, true, "not-an-id"); !errors.Is(err, ErrRecording) {
		t.Fatalf("a malformed ID was taken: %v", err)
	}
	if err := room.Record(adaID, bob, true, id); !errors.Is(err, ErrNotAdmitted) {
		t.Fatalf("bob's connection started ada's recording: %v", err)
	}
	var got wire.Recording
	if bob.last(t, wire.TypeRecording, &got) {
		t.Fatalf("bob was told of a recording before any started: %+v", got)
	}
	if err := room.Record(adaID, ada, true, id); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*fakeConn{"ada": ada, "bob": bob} {
		if !c.last(t, wire.TypeRecording, &got) || !got.On || got.By != string(adaID) || got.Name != "Ada" || got.Recording != id || got.Since == "" {
			t.Fatalf("%s was told %+v, want ada recording %s", name, got, id)
		}
	}
	if err := room.Record(adaID, ada, true, "rec_0000000000000000000000"); !errors.Is(err, ErrRecording) {
		t.Fatalf("a second recording started: %v", err)
	}

	_, _ = join(t, hub, dir.rec.ID, cy, "", wire.ClientMessage{Name: "Cy", KeyPackage: []byte("kp")})
	if !cy.last(t, wire.TypeRecording, &got) || !got.On || got.By != string(adaID) {
		t.Fatalf("a joiner was told %+v, want the running recording", got)
	}

	room.Leave(adaID, ada)
	for name, c := range map[string]*fakeConn{"bob": bob, "cy": cy} {
		if !c.last(t, wire.TypeRecording, &got) || got.On || got.Recording != id {
			t.Fatalf("%s was told %+v after the recorder left, want off", name, got)
		}
	}
	if err := room.Record(bobID, bob, false, ""); !errors.Is(err, ErrRecording) {
		t.Fatalf("stopping with nothing recorded: %v", err)
	}
}
