package store

import (
	"context"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestAdminLockKeptWithTheMeeting: an administrator's lock is stored with
// its audit entry; a host's other changes keep it, a host's own lock is not
// kept, and a host's unlock lifts it. A lock of a meeting that is not
// stored is still recorded.
func TestAdminLockKeptWithTheMeeting(t *testing.T) { eachBackend(t, testAdminLockKeptWithTheMeeting) }

func testAdminLockKeptWithTheMeeting(t *testing.T, s *DB) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, auth.User{ID: "u1", Email: "ada@example.org", Name: "Ada", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	id := meeting.NewID()
	set := meeting.DefaultSettings()
	set.Passcode = false
	if err := s.CreateMeeting(ctx, meeting.Record{ID: id, Kind: meeting.KindInstant, OwnerID: "u1", Settings: set, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	locked := func() bool {
		t.Helper()
		rec, err := s.Meeting(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Settings.Locked
	}
	entry := func(a audit.Action) audit.Entry {
		return audit.Entry{Time: time.Now(), ActorKind: audit.ActorUser, ActorID: "admin1", Action: a,
			SubjectKind: audit.SubjectMeeting, SubjectID: string(id), Reason: "Abuse report 7"}
	}

	e, err := s.LockMeeting(ctx, id, true, entry(audit.MeetingLocked))
	if err != nil {
		t.Fatal(err)
	}
	if !locked() || e.Seq == 0 || e.Hash == (audit.Hash{}) {
		t.Fatalf("after the admin's lock: locked %v, entry %+v", locked(), e)
	}
	mine, err := s.AuditAboutUser(ctx, "u1", 10)
	if err != nil || len(mine) != 1 || mine[0].Action != audit.MeetingLocked || mine[0].Reason != "Abuse report 7" {
		t.Fatalf("the owner's entries: %+v %v", mine, err)
	}

	// A host changes chat while the room is locked: the lock stays.
	changed := set
	changed.Chat, changed.Locked = meeting.WhoHosts, true
	if err := s.UpdateMeetingSettings(ctx, id, changed); err != nil {
		t.Fatal(err)
	}
	rec, _ := s.Meeting(ctx, id)
	if !rec.Settings.Locked || rec.Settings.Chat != meeting.WhoHosts {
		t.Fatalf("after a host's change: %+v", rec.Settings)
	}
	// The host unlocks: lifted.
	changed.Locked = false
	if err := s.UpdateMeetingSettings(ctx, id, changed); err != nil {
		t.Fatal(err)
	}
	if locked() {
		t.Fatal("the host's unlock did not lift the administrator's lock")
	}
	// A host's own lock is for the session only.
	changed.Locked = true
	if err := s.UpdateMeetingSettings(ctx, id, changed); err != nil {
		t.Fatal(err)
	}
	if locked() {
		t.Fatal("a host's lock was kept with the meeting")
	}
	// An administrator unlocks.
	if _, err := s.LockMeeting(ctx, id, true, entry(audit.MeetingLocked)); err != nil || !locked() {
		t.Fatalf("lock again: %v", err)
	}
	if _, err := s.LockMeeting(ctx, id, false, entry(audit.MeetingUnlocked)); err != nil || locked() {
		t.Fatalf("unlock: %v", err)
	}

	gone := meeting.NewID()
	before := auditCount(t, s)
	if _, err := s.LockMeeting(ctx, gone, true, entry(audit.MeetingLocked)); err != nil {
		t.Fatal(err)
	}
	if auditCount(t, s) != before+1 {
		t.Fatal("a lock of a meeting no longer stored was not recorded")
	}
	if _, err := audit.VerifyAll(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
}
