package live

import (
	"errors"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestRecordingCommitsOnlyFromTheRecorder: in an end-to-end encrypted
// meeting, a commit with the reason "recording" is taken only from the
// member the room let record; the recorder sets the state and clears it
// right after it stopped, with no wait for the key update interval (and
// its own key update right after is still taken); the others get the
// commit with its reason; after the recorder left, nobody may use the
// reason.
func TestRecordingCommitsOnlyFromTheRecorder(t *testing.T) {
	hub, dir := newTestHub(t)
	ada, bob := &fakeConn{}, &fakeConn{}
	const id = "rec_8Hx2cQmJ4nT0pV7aLw3sYb"

	room, adaID := join(t, hub, dir.rec.ID, ada, "ada", wire.ClientMessage{Name: "Ada", KeyPackage: []byte("kp-ada")})
	_, bobID := join(t, hub, dir.rec.ID, bob, "", wire.ClientMessage{Name: "Bob", KeyPackage: []byte("kp-bob")})
	var job wire.E2EEJob
	if !ada.last(t, wire.TypeE2EEJob, &job) || len(job.Add) != 1 {
		t.Fatalf("ada is not asked to add bob: %+v", job)
	}
	if err := room.E2EECommit(adaID, ada, &wire.ClientMessage{Type: wire.TypeE2EECommit, Epoch: job.Epoch, Commit: []byte("add"), Welcome: []byte("welcome")}); err != nil {
		t.Fatal(err)
	}
	epoch := job.Epoch + 1
	commit := func(by string, conn *fakeConn, reason string) error {
		err := room.E2EECommit(meeting.ParticipantID(by), conn, &wire.ClientMessage{Type: wire.TypeE2EECommit, Epoch: epoch, Commit: []byte(reason + "-" + by), Reason: reason})
		if err == nil {
			epoch++
		}
		return err
	}

	if err := commit(string(adaID), ada, "recording"); !errors.Is(err, e2ee.ErrNotCommitter) {
		t.Fatalf("a recording commit before any recording started: %v", err)
	}
	if err := room.Record(adaID, ada, true, id); err != nil {
		t.Fatal(err)
	}
	if err := commit(string(bobID), bob, "recording"); !errors.Is(err, e2ee.ErrNotCommitter) {
		t.Fatalf("a recording commit by a member who does not record: %v", err)
	}
	// Ada's own key update just before: the state is set and cleared anyway.
	if err := commit(string(adaID), ada, "update"); err != nil {
		t.Fatal(err)
	}
	if err := commit(string(adaID), ada, "recording"); err != nil {
		t.Fatalf("the recorder's commit of the state, right after its key update: %v", err)
	}
	var relayed wire.E2EECommit
	if !bob.last(t, wire.TypeE2EECommit, &relayed) || relayed.Reason != "recording" || relayed.From != string(adaID) || string(relayed.Commit) != "recording-"+string(adaID) {
		t.Fatalf("bob got %+v, want ada's recording commit with its reason", relayed)
	}
	if err := room.Record(adaID, ada, false, ""); err != nil {
		t.Fatal(err)
	}
	if err := commit(string(adaID), ada, "recording"); err != nil {
		t.Fatalf("the recorder clearing the state right after it stopped: %v", err)
	}
	if err := commit(string(adaID), ada, "update"); !errors.Is(err, e2ee.ErrTooSoon) {
		t.Fatalf("a key update right after the recording commits, within the interval of the last: %v", err)
	}

	// Ada records again and leaves: the state she set names a leaf no
	// longer in the group, which members take as nobody recording; nobody
	// else is let commit in her place.
	if err := room.Record(adaID, ada, true, id); err != nil {
		t.Fatal(err)
	}
	room.Leave(adaID, ada)
	if err := commit(string(bobID), bob, "recording"); !errors.Is(err, e2ee.ErrNotCommitter) {
		t.Fatalf("a recording commit by bob after the recorder left: %v", err)
	}
}
