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

// TestRecordingCommitsOnlyFromWhomTheRoomLetRecord: a recording commit
// needs the room's word (AllowRecording); nobody else may use the reason
// to commit, and a refused one changes nothing.
func TestRecordingCommitsOnlyFromWhomTheRoomLetRecord(t *testing.T) {
	g, _ := fourMembers(t)
	epoch := g.Epoch()
	if _, err := recording(g, "bob"); !errors.Is(err, ErrNotRecorder) || !errors.Is(err, ErrNotCommitter) {
		t.Fatalf("a recording commit nobody allowed: %v, want ErrNotRecorder", err)
	}
	g.AllowRecording("ada")
	if _, err := recording(g, "bob"); !errors.Is(err, ErrNotRecorder) {
		t.Fatalf("a recording commit by another member than the recorder: %v, want ErrNotRecorder", err)
	}
	if g.Epoch() != epoch {
		t.Fatalf("refused recording commits moved the epoch to %d", g.Epoch())
	}
	c, err := recording(g, "ada")
	if err != nil {
		t.Fatalf("the recorder's commit: %v", err)
	}
	if c.Reason != ReasonRecording || c.Epoch != epoch+1 || !slices.Equal(c.To, []Participant{"bob", "cy", "dee"}) {
		t.Fatalf("commit %+v", c)
	}
	if cs, ok := g.Since(epoch); !ok || len(cs) != 1 || cs[0].Reason != ReasonRecording {
		t.Fatalf("history for catching up = %+v, %v: the reason is relayed to those catching up too", cs, ok)
	}
	// Right after setting it, the recorder clears it: no wait.
	if _, err := recording(g, "ada"); err != nil {
		t.Fatalf("clearing right after setting: %v", err)
	}
	bad := []struct {
		name    string
		in      Initiative
		welcome []byte
		want    error
	}{
		{"with a remove list", Initiative{Reason: ReasonRecording, Remove: []Participant{"dee"}}, nil, ErrBadMessage},
		{"with a welcome", Initiative{Reason: ReasonRecording}, []byte("w"), ErrBadMessage},
	}
	for _, b := range bad {
		if _, err := g.CommitInitiative("ada", g.Epoch(), b.in, []byte("c"), b.welcome, nil); !errors.Is(err, b.want) {
			t.Errorf("a recording commit %s: %v, want %v", b.name, err, b.want)
		}
	}
	if _, err := g.CommitInitiative("ada", g.Epoch()-1, Initiative{Reason: ReasonRecording}, []byte("c"), nil, nil); !errors.Is(err, ErrStaleEpoch) {
		t.Errorf("a recording commit on a past epoch: %v", err)
	}
}

// TestRecordingCommitsAreBounded: one recording allows
// MaxRecordingCommits, and however many recordings the room allows, no
// more than that in an UpdateInterval: the reason is no channel for
// churning the group's epochs.
func TestRecordingCommitsAreBounded(t *testing.T) {
	g, clk := fourMembers(t)
	g.AllowRecording("ada")
	for i := range MaxRecordingCommits {
		clk.t = clk.t.Add(UpdateInterval) // the per-recording bound, not the window
		if _, err := recording(g, "ada"); err != nil {
			t.Fatalf("recording commit %d: %v", i+1, err)
		}
	}
	clk.t = clk.t.Add(UpdateInterval)
	if _, err := recording(g, "ada"); !errors.Is(err, ErrNotRecorder) {
		t.Fatalf("recording commit %d of one recording: %v, want ErrNotRecorder", MaxRecordingCommits+1, err)
	}

	// A new recording allows as many again, but within the window.
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

// TestRecordingCommitsAndUpdatesAreIndependent: a recording commit does
// not use up the member's key update, nor does it open a way round
// UpdateInterval.
func TestRecordingCommitsAndUpdatesAreIndependent(t *testing.T) {
	g, clk := fourMembers(t)
	g.AllowRecording("bob")
	initiative(t, g, "bob", Initiative{Reason: ReasonUpdate})
	if _, err := recording(g, "bob"); err != nil {
		t.Fatalf("a recording commit right after a key update: %v", err)
	}
	if _, err := g.CommitInitiative("bob", g.Epoch(), Initiative{Reason: ReasonUpdate}, []byte("u"), nil, nil); !errors.Is(err, ErrTooSoon) {
		t.Fatalf("an update right after a recording commit, within %s of the last: %v, want ErrTooSoon", UpdateInterval, err)
	}
	clk.t = clk.t.Add(UpdateInterval)
	initiative(t, g, "bob", Initiative{Reason: ReasonUpdate})

	// Another member's recording commit does not count against bob's updates either.
	g2, _ := fourMembers(t)
	g2.AllowRecording("ada")
	if _, err := recording(g2, "ada"); err != nil {
		t.Fatal(err)
	}
	initiative(t, g2, "bob", Initiative{Reason: ReasonUpdate})
}

// TestRecordingAllowanceEndsWhenTheRecorderLeaves: leaving the meeting
// ends it (a participant back under the same ID needs the room's word
// again).
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
	if _, err := recording(g, "dee"); !errors.Is(err, ErrNotRecorder) {
		t.Fatalf("a recording commit after leaving and coming back: %v, want ErrNotRecorder", err)
	}
}
