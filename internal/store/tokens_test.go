package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

func TestAPITokens(t *testing.T) { eachBackend(t, testAPITokens) }

func testAPITokens(t *testing.T, s *DB) {
	ctx := context.Background()
	now := time.Now().UTC()
	for _, id := range []string{"u1", "u2"} {
		if err := s.CreateUser(ctx, auth.User{ID: id, Email: id + "@example.org", Name: id, Role: auth.RoleAdmin, PasswordHash: "h", CreatedAt: now}, nil); err != nil {
			t.Fatal(err)
		}
	}
	entry := func(a audit.Action) audit.Entry {
		return audit.Entry{Time: now, ActorKind: audit.ActorUser, ActorID: "u1", Action: a, SubjectKind: audit.SubjectUser, SubjectID: "u1"}
	}
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	pat := APIToken{ID: "t1", Hash: hash("one"), Kind: TokenPersonal, UserID: "u1", Name: "CI", Scopes: []string{"meetings:read"},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	org := APIToken{ID: "t2", Hash: hash("two"), Kind: TokenOrg, UserID: "u2", Name: "Sync", Scopes: []string{"admin", "meetings:read"}, CreatedAt: now.Add(time.Second)}
	for _, tok := range []APIToken{pat, org} {
		if err := s.CreateAPIToken(ctx, tok, entry(audit.TokenCreated)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateAPIToken(ctx, APIToken{ID: "t3", Hash: hash("three"), Kind: TokenPersonal, UserID: "nobody", Name: "x", CreatedAt: now}, entry(audit.TokenCreated)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a token of an unknown account = %v", err)
	}

	got, err := s.APITokenByHash(ctx, hash("one"))
	if err != nil || got.ID != "t1" || got.Kind != TokenPersonal || got.Name != "CI" || len(got.Scopes) != 1 || !got.ExpiresAt.Equal(pat.ExpiresAt) || !got.LastUsed.IsZero() {
		t.Fatalf("by hash = %+v, %v", got, err)
	}
	if _, err := s.APITokenByHash(ctx, hash("unknown")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown hash = %v", err)
	}
	used := now.Add(time.Minute)
	if err := s.TouchAPIToken(ctx, "t1", used); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.APITokenByHash(ctx, hash("one")); !got.LastUsed.Equal(used) {
		t.Fatalf("last used = %v, want %v", got.LastUsed, used)
	}

	mine, _ := s.APITokens(ctx, TokenPersonal, "u1")
	theirs, _ := s.APITokens(ctx, TokenPersonal, "u2")
	orgs, _ := s.APITokens(ctx, TokenOrg, "")
	if len(mine) != 1 || len(theirs) != 0 || len(orgs) != 1 || orgs[0].ID != "t2" || len(orgs[0].Scopes) != 2 {
		t.Fatalf("lists: mine %v, theirs %v, org %v", mine, theirs, orgs)
	}

	// Revoking: only one's own personal token, and with its audit entry.
	revoked := func(tok APIToken) audit.Entry {
		e := entry(audit.TokenRevoked)
		e.Details = map[string]string{"id": tok.ID, "name": tok.Name}
		return e
	}
	if err := s.RevokeAPIToken(ctx, "t1", TokenPersonal, "u2", revoked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking another account's token = %v", err)
	}
	if err := s.RevokeAPIToken(ctx, "t2", TokenPersonal, "u2", revoked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking an organisation token as personal = %v", err)
	}
	if err := s.RevokeAPIToken(ctx, "t1", TokenPersonal, "u1", revoked); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APITokenByHash(ctx, hash("one")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a revoked token is still found: %v", err)
	}
	last, ok, err := s.LatestAudit(ctx, audit.TokenRevoked)
	if err != nil || !ok || last.Details["id"] != "t1" || last.Details["name"] != "CI" {
		t.Fatalf("revocation's audit entry = %+v, %v, %v", last, ok, err)
	}
	if created, _ := s.AuditEntries(ctx, 0, 10); len(created) != 3 {
		t.Fatalf("audit entries = %d, want 2 created + 1 revoked", len(created))
	}

	// Deleting an account deletes its tokens.
	if err := s.DeleteUser(ctx, "u2", auth.Guard{}, audit.Entry{Time: now, ActorKind: audit.ActorOperator, Action: audit.UserDeleted, SubjectKind: audit.SubjectUser, SubjectID: "u2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APITokenByHash(ctx, hash("two")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleted account's token is still found: %v", err)
	}
}
