package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

func TestIngestTokens(t *testing.T) { eachBackend(t, testIngestTokens) }

func testIngestTokens(t *testing.T, s *DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	if err := s.CreateUser(ctx, auth.User{ID: "u1", Email: "u1@example.org", Name: "u1", Role: auth.RoleAdmin, PasswordHash: "h", CreatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []meeting.ID{"m1", "m2"} {
		if err := s.CreateMeeting(ctx, meeting.Record{ID: id, Kind: meeting.KindInstant, OwnerID: "u1", Settings: meeting.DefaultSettings(), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	entry := func(a audit.Action, tok IngestToken) audit.Entry {
		return audit.Entry{Time: now, ActorKind: audit.ActorUser, ActorID: "u1", Action: a, SubjectKind: audit.SubjectMeeting, SubjectID: tok.MeetingID,
			Details: map[string]string{"id": tok.ID, "name": tok.Name}}
	}
	revoked := func(tok IngestToken) audit.Entry { return entry(audit.IngestTokenRevoked, tok) }
	a := IngestToken{ID: "i1", MeetingID: "m1", Hash: hash("one"), Name: "OBS", CreatedBy: "u1", CreatedAt: now}
	b := IngestToken{ID: "i2", MeetingID: "m2", Hash: hash("two"), Name: "Camera", CreatedBy: "u1", CreatedAt: now}
	for _, tok := range []IngestToken{a, b} {
		if err := s.CreateIngestToken(ctx, tok, entry(audit.IngestTokenCreated, tok)); err != nil {
			t.Fatal(err)
		}
	}
	bad := IngestToken{ID: "i3", MeetingID: "nope", Hash: hash("three"), Name: "x", CreatedBy: "u1", CreatedAt: now}
	if err := s.CreateIngestToken(ctx, bad, entry(audit.IngestTokenCreated, bad)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a token for an unknown meeting = %v", err)
	}
	got, err := s.IngestTokenByHash(ctx, hash("one"))
	if err != nil || got.ID != "i1" || got.MeetingID != "m1" || got.Name != "OBS" || !got.CreatedAt.Equal(now) || !got.LastUsed.IsZero() {
		t.Fatalf("by hash: %+v, %v", got, err)
	}
	if _, err := s.IngestTokenByHash(ctx, hash("wrong")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a wrong hash = %v", err)
	}
	if err := s.TouchIngestToken(ctx, "i1", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	list, err := s.IngestTokens(ctx, "m1")
	if err != nil || len(list) != 1 || list[0].ID != "i1" || !list[0].LastUsed.Equal(now.Add(time.Minute)) {
		t.Fatalf("m1's tokens: %+v, %v", list, err)
	}
	// Revoking needs the right meeting.
	if err := s.RevokeIngestToken(ctx, "m2", "i1", revoked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking m1's token through m2 = %v", err)
	}
	if err := s.RevokeIngestToken(ctx, "m1", "i1", revoked); err != nil {
		t.Fatal(err)
	}
	// Made twice (a and b), revoked once: the failed creation left nothing.
	entries, err := s.AuditEntries(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[audit.Action]int{}
	for _, e := range entries {
		counts[e.Action]++
	}
	if counts[audit.IngestTokenCreated] != 2 || counts[audit.IngestTokenRevoked] != 1 {
		t.Fatalf("audit: %v", counts)
	}
	if _, err := s.IngestTokenByHash(ctx, hash("one")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a revoked token = %v", err)
	}
	// A deleted meeting takes its tokens with it.
	if err := s.DeleteMeeting(ctx, "m2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestTokenByHash(ctx, hash("two")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the token of a deleted meeting = %v", err)
	}
}
