package store

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestEgressTokenKind: a token keeps its kind (WHEP egress beside WHIP
// ingest, migration 0017), one made without a kind streams in, and a
// meeting's list holds both kinds, each as made.
func TestEgressTokenKind(t *testing.T) { eachBackend(t, testEgressTokenKind) }

func testEgressTokenKind(t *testing.T, s *DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	if err := s.CreateUser(ctx, auth.User{ID: "u1", Email: "u1@example.org", Name: "u1", Role: auth.RoleAdmin, PasswordHash: "h", CreatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMeeting(ctx, meeting.Record{ID: "m1", Kind: meeting.KindInstant, OwnerID: "u1", Settings: meeting.DefaultSettings(), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	rec := audit.Entry{Time: now, ActorKind: audit.ActorUser, ActorID: "u1", Action: audit.IngestTokenCreated, SubjectKind: audit.SubjectMeeting, SubjectID: "m1"}
	in := IngestToken{ID: "i1", MeetingID: "m1", Hash: hash("in"), Name: "OBS", CreatedBy: "u1", CreatedAt: now}
	out := IngestToken{ID: "e1", MeetingID: "m1", Hash: hash("out"), Name: "Stage", CreatedBy: "u1", CreatedAt: now, Kind: IngestKindWHEP}
	for _, tok := range []IngestToken{in, out} {
		if err := s.CreateIngestToken(ctx, tok, rec); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{"in": IngestKindWHIP, "out": IngestKindWHEP} {
		got, err := s.IngestTokenByHash(ctx, hash(name))
		if err != nil || got.Kind != want {
			t.Fatalf("token %q: kind %q, %v; want %q", name, got.Kind, err, want)
		}
	}
	list, err := s.IngestTokens(ctx, "m1")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	kinds := map[string]string{}
	for _, tok := range list {
		kinds[tok.ID] = tok.Kind
	}
	if kinds["i1"] != IngestKindWHIP || kinds["e1"] != IngestKindWHEP {
		t.Fatalf("kinds listed: %v", kinds)
	}
}
