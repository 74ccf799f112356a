package e2ee

import (
	"errors"
	"slices"
	"testing"
)

// recording has from commit the recording state on the current epoch.
func recording(g *Group, from Participant) (Commit, error) {
	return g.CommitInitiative(from, g.Epoch(), Initiative{Reason: ReasonRecording}, []byte("rec-"+string(from)), nil, nil)
}

// update has from commit a key update on the current epoch.
func update(g *Group, from Participant) error {
	_, err := g.CommitInitiative(from, g.Epoch(), Initiative{Reason: ReasonUpdate}, []byte("upd-"+string(from)), nil, nil)
	return err
}

// TestRecordingCommitsBeyondTheRoomsWordAreKeyUpdates: only the member
// the room let record (AllowRecording) commits the recording state apart
// from its key updates; anyone else's recording commit is taken only as
// its key update (refused within UpdateInterval of the last, and counted
// as one), which is all it could commit before: the reason opens no way
// round the bound. A refused one changes nothing.
func TestRecordingCommitsBeyondTheRoomsWordAreKeyUpdates(t *testing.T) {
	g, clk := fourMembers(t)
	if err := update(g, "bob"); err != nil {
		t.Fatal(err)
	}
	epoch := g.Epoch()
	if _, err := recording(g, "bob"); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("a recording commit nobody allowed, right after the member's key update: %v, want ErrTooSoon", err)
	}
	g.AllowRecording("ada")
	if _, err := recording(g, "bob"); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("a recording commit by another member than the recorder: %v, want ErrTooSoon", err)
	}
	if g.Epoch() != epoch {
		t.Fatalf("refused recording commits moved the epoch to %d", g.Epoch())
	}

	// The recorder's commit is taken right away, and relayed with its reason.
	c, err := recording(g, "ada")
	if err != nil {
		t.Fatalf("the recorder's commit: %v", err)
	}
	if c.Reason != ReasonRecording || c.Epoch != epoch+1 || !slices.Equal(c.To, []Participant{"bob", "cy", "dee"}) {
		t.Fatalf("commit %+v", c)
	}
	if cs, ok := g.Since(epoch); !ok || len(cs) != 1 || cs[0].Reason != ReasonRecording {
		t.Fatalf("history for catching up = %+v, %v: the reason goes to those catching up too", cs, ok)
	}
	// Right after setting it, the recorder clears it: no wait.
	if _, err := recording(g, "ada"); err != nil {
		t.Fatalf("clearing right after setting: %v", err)
	}

	// Once Bob's interval passed, his recording commit (say, clearing a
	// state whose recorder left) is taken, as his key update.
	clk.t = clk.t.Add(UpdateInterval)
	if c, err := recording(g, "bob"); err != nil || c.Reason != ReasonRecording {
		t.Fatalf("bob's recording commit after the interval: %+v, %v", c, err)
	}
	if err := update(g, "bob"); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("bob's key update right after his recording commit, which counted as one: %v, want ErrTooSoon", err)
	}

	for _, b := range []struct {
		name    string
		in      Initiative
		welcome []byte
		want    error
	}{
		{"with a remove list", Initiative{Reason: ReasonRecording, Remove: []Participant{"dee"}}, nil, ErrBadMessage},
		{"with a welcome", Initiative{Reason: ReasonRecording}, []byte("w"), ErrBadMessage},
	} {
		if _, err := g.CommitInitiative("ada", g.Epoch(), b.in, []byte("c"), b.welcome, nil); !errors.Is(err, b.want) {
			t.Errorf("a recording commit %s: %v, want %v", b.name, err, b.want)
		}
	}
	if _, err := g.CommitInitiative("ada", g.Epoch()-1, Initiative{Reason: ReasonRecording}, []byte("c"), nil, nil); !errors.Is(err, ErrStaleEpoch) {
		t.Errorf("a recording commit on a past epoch: %v", err)
	}
}

// TestRecordingCommitsAreBounded: one recording allows
// MaxRecordingCommits apart from key updates, and however many recordings
// the room allows, no more than that in an UpdateInterval: the reason is
// no channel for churning the group's epochs.
func TestRecordingCommitsAreBounded(t *testing.T) {
	g, clk := fourMembers(t)
	g.AllowRecording("ada")
	for i := range MaxRecordingCommits {
		clk.t = clk.t.Add(UpdateInterval) // the per-recording bound, not the window
		if _, err := recording(g, "ada"); err != nil {
			t.Fatalf("recording commit %d: %v", i+1, err)
		}
	}
	if _, err := recording(g, "ada"); err != nil {
		t.Fatalf("recording commit %d of one recording, taken as her key update: %v", MaxRecordingCommits+1, err)
	}
	if _, err := recording(g, "ada"); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("recording commit %d of one recording: %v, want ErrTooSoon", MaxRecordingCommits+2, err)
	}
	if err := update(g, "ada"); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("a key update right after a recording commit that counted as one: %v, want ErrTooSoon", err)
	}

	// A new recording allows as many again, but within the window.
	clk.t = clk.t.Add(UpdateInterval)
	g.AllowRecording("ada")
	for i := range MaxRecordingCommits {
		if _, err := recording(g, "ada"); err != nil {
			t.Fatalf("recording commit %d of the second recording: %v", i+1, err)
		}
	}
	g.AllowRecording("ada") // a host starting and stopping recordings in a loop
	if _, err := recording(g, "ada"); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("recording commit %d within %s: %v, want ErrTooSoon", MaxRecordingCommits+1, UpdateInterval, err)
	}
	clk.t = clk.t.Add(UpdateInterval)
	if _, err := recording(g, "ada"); err != nil {
		t.Fatalf("a recording commit once the window passed: %v", err)
	}
}

// TestRecordingCommitsAndUpdatesAreIndependent: the recorder's recording
// commit does not use up its key update, nor does it open a way round
// UpdateInterval.
func TestRecordingCommitsAndUpdatesAreIndependent(t *testing.T) {
	g, clk := fourMembers(t)
	g.AllowRecording("bob")
	if err := update(g, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := recording(g, "bob"); err != nil {
		t.Fatalf("a recording commit right after a key update: %v", err)
	}
	if err := update(g, "bob"); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("an update right after a recording commit, within %s of the last: %v, want ErrTooSoon", UpdateInterval, err)
	}
	clk.t = clk.t.Add(UpdateInterval)
	if err := update(g, "bob"); err != nil {
		t.Fatal(err)
	}

	// Another member's recording commit does not count against bob's updates either.
	g2, _ := fourMembers(t)
	g2.AllowRecording("ada")
	if _, err := recording(g2, "ada"); err != nil {
		t.Fatal(err)
	}
	if err := update(g2, "ada"); err != nil {
		t.Fatalf("the recorder's key update right after its recording commit: %v", err)
	}
	if err := update(g2, "bob"); err != nil {
		t.Fatal(err)
	}
}

// TestRecordingAllowanceEndsWhenTheRecorderLeaves: leaving the meeting
// ends it: a participant back under the same ID commits the state only
// as its key update until the room lets it record again.
func TestRecordingAllowanceEndsWhenTheRecorderLeaves(t *testing.T) {
	g, _ := fourMembers(t)
	g.AllowRecording("dee")
	g.Left("dee")
	admit(t, g, "dee")
	for j := g.NextJob(nil); j != nil; j = g.NextJob(nil) {
		commitJob(t, g, j) // dee's old leaf out, the new one in
	}
	if !g.IsMember("dee") {
		t.Fatal("dee is not back in the group")
	}
	if _, err := recording(g, "dee"); err != nil {
		t.Fatalf("dee's first recording commit, as a key update: %v", err)
	}
	if _, err := recording(g, "dee"); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("dee's second recording commit after leaving and coming back: %v, want ErrTooSoon", err)
	}
}
