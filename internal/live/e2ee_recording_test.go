package live

import (
	"errors"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestRecordingCommitsOnlyFromTheRecorder: in an end-to-end encrypted
// meeting, a commit with the reason "recording" goes beyond the bound on
// key updates only from the member the room let record: the recorder
// sets the state right after its own key update and clears it right
// after it stopped, and its next key update is still bounded; the others
// get the commit with its reason; anyone else's recording commit counts
// as its key update, before a recording, during it and after the
// recorder left.
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
	commit := func(by meeting.ParticipantID, conn *fakeConn, reason string) error {
		err := room.E2EECommit(by, conn, &wire.ClientMessage{Type: wire.TypeE2EECommit, Epoch: epoch, Commit: []byte(reason + "-" + string(by)), Reason: reason})
		if err == nil {
			epoch++
		}
		return err
	}

	// Before any recording, a recording commit is a key update.
	if err := commit(adaID, ada, "update"); err != nil {
		t.Fatal(err)
	}
	if err := commit(adaID, ada, "recording"); !errors.Is(err, e2ee.ErrTooSoon) {
		t.Fatalf("a recording commit before any recording started, right after a key update: %v, want ErrTooSoon", err)
	}
	if err := room.Record(adaID, ada, true, id); err != nil {
		t.Fatal(err)
	}
	if err := commit(adaID, ada, "recording"); err != nil {
		t.Fatalf("the recorder's commit of the state, right after its key update: %v", err)
	}
	var relayed wire.E2EECommit
	if !bob.last(t, wire.TypeE2EECommit, &relayed) || relayed.Reason != "recording" || relayed.From != string(adaID) || string(relayed.Commit) != "recording-"+string(adaID) {
		t.Fatalf("bob got %+v, want ada's recording commit with its reason", relayed)
	}
	if err := commit(bobID, bob, "update"); err != nil {
		t.Fatal(err)
	}
	if err := commit(bobID, bob, "recording"); !errors.Is(err, e2ee.ErrTooSoon) {
		t.Fatalf("a recording commit by a member who does not record, right after its key update: %v, want ErrTooSoon", err)
	}
	if err := room.Record(adaID, ada, false, ""); err != nil {
		t.Fatal(err)
	}
	if err := commit(adaID, ada, "recording"); err != nil {
		t.Fatalf("the recorder clearing the state right after it stopped: %v", err)
	}
	if err := commit(adaID, ada, "update"); !errors.Is(err, e2ee.ErrTooSoon) {
		t.Fatalf("a key update right after the recording commits, within the interval of the last: %v", err)
	}

	// Ada records again and leaves: the state she set names a leaf no
	// longer in the group, which members take as nobody recording; nobody
	// is let commit in her place beyond their own key updates.
	if err := room.Record(adaID, ada, true, id); err != nil {
		t.Fatal(err)
	}
	room.Leave(adaID, ada)
	if err := commit(bobID, bob, "recording"); !errors.Is(err, e2ee.ErrTooSoon) {
		t.Fatalf("a recording commit by bob after the recorder left: %v, want ErrTooSoon", err)
	}
}
