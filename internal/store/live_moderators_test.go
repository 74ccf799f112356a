package store

import (
	"context"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestModeratesLive: an account is a moderator of a live meeting while a
// participant it joined as is its host or a co-host there; not as a
// participant, not in another meeting, not once gone; an empty account
// (a guest) never.
func TestModeratesLive(t *testing.T) { eachBackend(t, testModeratesLive) }

func testModeratesLive(t *testing.T, s *DB) {
	ctx := context.Background()
	ids := []meeting.ID{"7k3m-q9xd-2hfa-b8rn", "8k3m-q9xd-2hfa-b8rn"}
	for _, id := range ids {
		if err := s.CreateMeeting(ctx, meeting.Record{ID: id, CreatedAt: time.Now(), Settings: meeting.DefaultSettings()}); err != nil {
			t.Fatal(err)
		}
	}
	keep := func(id meeting.ID, pid, user string, role meeting.Role) {
		t.Helper()
		k := meeting.Kept{Participant: meeting.Participant{ID: meeting.ParticipantID(pid), Name: pid, Role: role, Identity: meeting.Identity{UserID: user}}}
		if err := s.SaveKept(ctx, id, k, "run-1"); err != nil {
			t.Fatal(err)
		}
	}
	check := func(id meeting.ID, user string, want bool) {
		t.Helper()
		got, err := s.ModeratesLive(ctx, string(id), user)
		if err != nil || got != want {
			t.Fatalf("ModeratesLive(%s, %q) = %v, %v; want %v", id, user, got, err, want)
		}
	}
	keep(ids[0], "p-guest", "", meeting.RoleCoHost)
	keep(ids[0], "p-bob", "u-bob", meeting.RoleParticipant)
	keep(ids[0], "p-host", "u-ada", meeting.RoleHost)
	keep(ids[1], "p-cy", "u-cy", meeting.RoleCoHost)
	check(ids[0], "", false)
	check(ids[0], "u-bob", false)
	check(ids[0], "u-ada", true)
	check(ids[0], "u-cy", false) // a co-host of another meeting
	check(ids[1], "u-cy", true)
	keep(ids[0], "p-bob", "u-bob", meeting.RoleCoHost)
	check(ids[0], "u-bob", true)
	keep(ids[0], "p-bob2", "u-bob", meeting.RoleParticipant) // a second device as a participant
	check(ids[0], "u-bob", true)
	if err := s.DeleteKept(ctx, ids[0], "p-bob"); err != nil {
		t.Fatal(err)
	}
	check(ids[0], "u-bob", false)
}
