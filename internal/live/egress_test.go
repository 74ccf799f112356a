package live

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestEgressViewerFollowsThePolicy: an end-to-end encrypted meeting
// refuses a WHEP viewer until its host allows programs outside
// encryption; then the viewer joins marked ingest and viewer in
// everyone's roster and in a later joiner's welcome, without media, is
// never given an end-to-end encryption job, and is closed and taken out
// when the host stops allowing them.
func TestEgressViewerFollowsThePolicy(t *testing.T) {
	hub, dir := newTestHub(t)
	ada := &fakeConn{}
	room, adaID := join(t, hub, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("ada's key package")})
	conn := &fakeConn{}
	src := Source{Conn: conn, Name: "Stage screen", Addr: netip.MustParseAddr("192.0.2.9")}
	if _, _, _, err := hub.Egress(context.Background(), dir.rec.ID, src); !errors.Is(err, ErrIngestForbidden) {
		t.Fatalf("a viewer in an E2EE meeting that does not allow them: %v", err)
	}
	var refused wire.ParticipantEvent
	if ada.last(t, wire.TypeParticipantJoined, &refused) {
		t.Fatalf("ada was told of a refused viewer: %+v", refused)
	}

	if err := room.UpdateSettings(adaID, ada, func(s *meeting.Settings) { s.Ingest = true }); err != nil {
		t.Fatal(err)
	}
	dir.mu.Lock()
	dir.rec.Settings.Ingest = true
	dir.mu.Unlock()
	_, pid, viewer, err := hub.Egress(context.Background(), dir.rec.ID, src)
	if err != nil || viewer == nil {
		t.Fatalf("a viewer in an E2EE meeting that allows them: %v", err)
	}
	defer viewer.Close()
	var joined wire.ParticipantEvent
	if !ada.last(t, wire.TypeParticipantJoined, &joined) || joined.Participant.ID != string(pid) || !joined.Participant.Ingest || !joined.Participant.Viewer ||
		joined.Participant.Name != "Stage screen" || joined.Participant.SignedIn || joined.Participant.Audio || joined.Participant.Video {
		t.Fatalf("ada is told %+v", joined)
	}
	var job wire.E2EEJob
	if ada.last(t, wire.TypeE2EEJob, &job) {
		for _, a := range job.Add {
			if a.Participant == string(pid) {
				t.Fatalf("the viewer is in an E2EE job: %+v", job)
			}
		}
	}
	bob := &fakeConn{}
	join(t, hub, dir.rec.ID, bob, "", wire.ClientMessage{Name: "Bob", KeyPackage: []byte("bob's key package")})
	var welcome wire.Welcome
	if !bob.last(t, wire.TypeWelcome, &welcome) {
		t.Fatal("bob has no welcome")
	}
	viewers := 0
	for _, p := range welcome.Participants {
		if p.Viewer {
			viewers++
			if p.ID != string(pid) || !p.Ingest {
				t.Fatalf("%+v is marked as a viewer", p)
			}
		}
	}
	if viewers != 1 {
		t.Fatalf("bob's welcome marks %d viewers: %+v", viewers, welcome.Participants)
	}

	dir.mu.Lock()
	dir.rec.Settings.Ingest = false
	dir.mu.Unlock()
	if err := room.UpdateSettings(adaID, ada, func(s *meeting.Settings) { s.Ingest = false }); err != nil {
		t.Fatal(err)
	}
	if c := conn.closes(); len(c) != 1 || c[0].Code != wire.ClosedRemoved {
		t.Fatalf("the viewer's connection was closed %+v", c)
	}
	var left wire.ParticipantLeft
	if !ada.last(t, wire.TypeParticipantLeft, &left) || left.ID != string(pid) {
		t.Fatalf("ada is told %+v", left)
	}
	if _, ok := room.core.Participant(pid); ok {
		t.Fatal("the viewer is still in the meeting")
	}
}
