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
	if n, err := s.ForgetEarlierRuns(ctx, "run-2", t0.Add(30*time.Second+2*time.Minute), 2*time.Minute); err != nil || n != 1 {
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

// TestKeptWithSeveralNodes: two servers (cluster nodes) share the
// database, each with its run. Starting one, keeping its meetings alive
// and forgetting earlier runs leaves the other's rows alone while the
// other is alive; once the other has not been alive for the window (it
// crashed), its rows go, except those the survivor took over (restored
// into its own room, saved with its run).
func TestKeptWithSeveralNodes(t *testing.T) { eachBackend(t, testKeptWithSeveralNodes) }

func testKeptWithSeveralNodes(t *testing.T, s *DB) {
	ctx := context.Background()
	m1, m2 := meeting.ID("7k3m-q9xd-2hfa-b8rn"), meeting.ID("2hfa-b8rn-7k3m-q9xd")
	for _, id := range []meeting.ID{m1, m2} {
		if err := s.CreateMeeting(ctx, meeting.Record{ID: id, CreatedAt: time.Now(), Settings: meeting.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
	}
	kept := func(pid string) meeting.Kept {
		return meeting.Kept{ResumeHash: sha256.Sum256([]byte(pid)), Participant: meeting.Participant{ID: meeting.ParticipantID(pid), Name: pid, Role: meeting.RoleHost}}
	}
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	window := 2 * time.Minute
	if err := s.StartRun(ctx, "node-a", t0, window); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveKept(ctx, m1, kept("p-ada"), "node-a"); err != nil {
		t.Fatal(err)
	}
	// Node B starts an hour later, while A is alive.
	for i := 1; i <= 60; i++ {
		if err := s.RunAlive(ctx, "node-a", t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(time.Hour)
	if err := s.StartRun(ctx, "node-b", now, window); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []string{"p-bob", "p-cy"} {
		if err := s.SaveKept(ctx, m2, kept(pid), "node-b"); err != nil {
			t.Fatal(err)
		}
	}
	for _, forget := range []struct{ run, other string }{{"node-a", "node-b"}, {"node-b", "node-a"}} {
		if n, err := s.ForgetEarlierRuns(ctx, forget.run, now.Add(time.Minute), window); err != nil || n != 0 {
			t.Fatalf("%s forgot %d rows (%v) of %s, which is alive", forget.run, n, err, forget.other)
		}
	}
	if err := s.RunAlive(ctx, "node-a", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.KeptBefore(ctx, m1, "node-b"); err != nil || len(got) != 1 {
		t.Fatalf("A's meeting as B sees it: %v, %v; want Ada", got, err)
	}

	// B crashes at now+1m; A takes over m2 (the meeting is placed on it
	// again) and restores Bob into its room, not Cy.
	got, err := s.KeptBefore(ctx, m2, "node-a")
	if err != nil || len(got) != 2 {
		t.Fatalf("A reads B's meeting: %v, %v; want Bob and Cy", got, err)
	}
	if err := s.SaveKept(ctx, m2, got[0], "node-a"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ForgetEarlierRuns(ctx, "node-a", now.Add(2*time.Minute), window); err != nil || n != 0 {
		t.Fatalf("B's rows forgotten %d (%v) within the window after its crash", n, err)
	}
	later := now.Add(time.Minute + window + time.Second)
	if err := s.RunAlive(ctx, "node-a", later); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ForgetEarlierRuns(ctx, "node-a", later, window); err != nil || n != 1 {
		t.Fatalf("forgot %d rows (%v) after B's window; want Cy's", n, err)
	}
	if got, err := s.KeptBefore(ctx, m2, "a later run"); err != nil || len(got) != 1 || got[0].Participant.ID != "p-bob" {
		t.Fatalf("m2 keeps %v (%v); want Bob, now A's", got, err)
	}
	if got, err := s.KeptBefore(ctx, m1, "a later run"); err != nil || len(got) != 1 {
		t.Fatalf("m1 keeps %v (%v); want Ada", got, err)
	}
}
