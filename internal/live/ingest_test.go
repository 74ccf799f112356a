package live

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestIngestSourceFollowsThePolicy: an end-to-end encrypted meeting
// refuses a WHIP source until its host allows sources; then the source
// joins as a participant of its own kind, marked ingest in everyone's
// roster and in a later joiner's welcome, is never given an end-to-end
// encryption job, and is closed and taken out when the host stops
// allowing sources.
func TestIngestSourceFollowsThePolicy(t *testing.T) {
	hub, dir := newTestHub(t)
	ada := &fakeConn{}
	room, adaID := join(t, hub, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("ada's key package")})
	src := &fakeConn{}
	source := Source{Conn: src, Name: "Stage camera", Addr: netip.MustParseAddr("192.0.2.9")}
	if _, _, _, err := hub.Ingest(context.Background(), dir.rec.ID, source); !errors.Is(err, ErrIngestForbidden) {
		t.Fatalf("a source in an E2EE meeting that does not allow them: %v", err)
	}

	// The host allows sources (the store keeps it, as SaveSettings would).
	if err := room.UpdateSettings(adaID, ada, func(s *meeting.Settings) { s.Ingest = true }); err != nil {
		t.Fatal(err)
	}
	dir.mu.Lock()
	dir.rec.Settings.Ingest = true
	dir.mu.Unlock()
	_, pid, peer, err := hub.Ingest(context.Background(), dir.rec.ID, source)
	if err != nil || peer == nil {
		t.Fatalf("a source in an E2EE meeting that allows them: %v", err)
	}
	var joined wire.ParticipantEvent
	if !ada.last(t, wire.TypeParticipantJoined, &joined) || joined.Participant.ID != string(pid) || !joined.Participant.Ingest ||
		joined.Participant.Name != "Stage camera" || joined.Participant.SignedIn {
		t.Fatalf("ada is told %+v", joined)
	}
	var job wire.E2EEJob
	if ada.last(t, wire.TypeE2EEJob, &job) {
		for _, a := range job.Add {
			if a.Participant == string(pid) {
				t.Fatalf("the source is in an E2EE job: %+v", job)
			}
		}
	}
	bob := &fakeConn{}
	join(t, hub, dir.rec.ID, bob, "", wire.ClientMessage{Name: "Bob", KeyPackage: []byte("bob's key package")})
	var welcome wire.Welcome
	if !bob.last(t, wire.TypeWelcome, &welcome) {
		t.Fatal("bob has no welcome")
	}
	marked := 0
	for _, p := range welcome.Participants {
		if p.Ingest {
			marked++
			if p.ID != string(pid) {
				t.Fatalf("%+v is marked as a source", p)
			}
		}
	}
	if marked != 1 {
		t.Fatalf("bob's welcome marks %d sources: %+v", marked, welcome.Participants)
	}

	// The host stops allowing sources: the source goes.
	dir.mu.Lock()
	dir.rec.Settings.Ingest = false
	dir.mu.Unlock()
	if err := room.UpdateSettings(adaID, ada, func(s *meeting.Settings) { s.Ingest = false }); err != nil {
		t.Fatal(err)
	}
	if c := src.closes(); len(c) != 1 || c[0].Code != wire.ClosedRemoved {
		t.Fatalf("the source's connection was closed %+v", c)
	}
	var left wire.ParticipantLeft
	if !ada.last(t, wire.TypeParticipantLeft, &left) || left.ID != string(pid) {
		t.Fatalf("ada is told %+v", left)
	}
	if _, ok := room.core.Participant(pid); ok {
		t.Fatal("the source is still in the meeting")
	}
}
