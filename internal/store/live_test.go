package store

import (
	"context"
	"crypto/sha256"
	"net/netip"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestKeptSurvivesARestart: what one run keeps of a live meeting, the next
// run (within the window) reads back whole; its own rows it does not;
// after the window, or once forgotten, nothing is left.
func TestKeptSurvivesARestart(t *testing.T) { eachBackend(t, testKeptSurvivesARestart) }

func testKeptSurvivesARestart(t *testing.T, s *DB) {
	ctx := context.Background()
	id := meeting.ID("7k3m-q9xd-2hfa-b8rn")
	if err := s.CreateMeeting(ctx, meeting.Record{ID: id, CreatedAt: time.Now(), Settings: meeting.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	if err := s.StartRun(ctx, "run-1", t0, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	k := meeting.Kept{ResumeHash: sha256.Sum256([]byte("token")), AdmittedBy: "p-host", Participant: meeting.Participant{
		ID: "p-ada", Name: "Ada", Role: meeting.RoleCoHost, JoinedAt: t0, MutedByHost: true,
		Identity: meeting.Identity{UserID: "u-ada", Device: "dev-ada", Addr: netip.MustParseAddr("2001:db8::1")},
	}}
	for _, save := range []meeting.Kept{k, {ResumeHash: sha256.Sum256([]byte("t2")), Participant: meeting.Participant{ID: "p-bob", Name: "Bob", Role: meeting.RoleParticipant}}} {
		if err := s.SaveKept(ctx, id, save, "run-1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteKept(ctx, id, "p-bob"); err != nil {
		t.Fatal(err)
	}
	// A later save replaces the row (a fresh resume token).
	k.ResumeHash = sha256.Sum256([]byte("token-2"))
	if err := s.SaveKept(ctx, id, k, "run-1"); err != nil {
		t.Fatal(err)
	}
	if own, err := s.KeptBefore(ctx, id, "run-1"); err != nil || len(own) != 0 {
		t.Fatalf("a run reads back its own rows: %v, %v", own, err)
	}
	// Saving for a meeting deleted meanwhile is not an error, and keeps nothing.
	if err := s.SaveKept(ctx, "zzzz-zzzz-zzzz-zzzz", k, "run-1"); err != nil {
		t.Errorf("keeping someone in a deleted meeting: %v", err)
	}

	// Crash; run 2 starts 30 s later.
	if err := s.StartRun(ctx, "run-2", t0.Add(30*time.Second), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.KeptBefore(ctx, id, "run-2")
	if err != nil || len(got) != 1 {
		t.Fatalf("run 2 reads %v, %v; want Ada", got, err)
	}
	if g := got[0]; g.ResumeHash != k.ResumeHash || g.AdmittedBy != "p-host" || g.Participant.ID != "p-ada" ||
		g.Participant.Name != "Ada" || g.Participant.Role != meeting.RoleCoHost || !g.Participant.JoinedAt.Equal(t0) ||
		!g.Participant.MutedByHost || g.Participant.Identity != k.Participant.Identity {
		t.Errorf("read back %+v, want %+v", g, k)
	}
	if n, err := s.ForgetEarlierRuns(ctx, "run-2"); err != nil || n != 1 {
		t.Errorf("forgetting run 1's rows = %d, %v", n, err)
	}

	// A run that died long ago: what it kept goes when the next starts.
	if err := s.SaveKept(ctx, id, k, "run-2"); err != nil {
		t.Fatal(err)
	}
	if err := s.RunAlive(ctx, "run-2", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, "run-3", t0.Add(10*time.Minute), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := s.KeptBefore(ctx, id, "run-3"); err != nil || len(got) != 0 {
		t.Errorf("after a long outage run 3 reads %v, %v; want nothing", got, err)
	}
}
