package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

// TestSSOStore: the provider's settings round-trip (a second save
// replaces the first) with their audit entry; an identity is found by its
// (issuer, subject) pair, linked once, made with its account in one step
// (an e-mail taken makes neither), and goes with its account; a key
// rotation re-seals the client secret.
func TestSSOStore(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, s *DB) {
		t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		if _, err := s.SSOConfig(ctx); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("no provider yet = %v", err)
		}
		rec := audit.Entry{Time: t0, Action: audit.OrgSSOChanged, ActorKind: audit.ActorUser, ActorID: "admin", SubjectKind: audit.SubjectOrg}
		oldKey, _ := auth.NewSealer(bytes.Repeat([]byte{1}, 32))
		c := auth.SSOConfig{Enabled: true, Issuer: "https://id.example.org", ClientID: "kaigi", Label: "Example ID",
			ClientSecret: oldKey.Seal([]byte("s3cret"), auth.SSOSecretLabel+auth.SSORowID),
			Domains:      []string{"example.org", "example.net"}, AllowCreate: true, SSOOnly: true, UpdatedAt: t0}
		if err := s.SetSSOConfig(ctx, auth.SSOConfig{Issuer: "https://old.example.org", UpdatedAt: t0}, rec); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSSOConfig(ctx, c, rec); err != nil {
			t.Fatal(err)
		}
		got, err := s.SSOConfig(ctx)
		if err != nil || !got.Enabled || got.Issuer != c.Issuer || got.ClientID != "kaigi" || got.Label != "Example ID" ||
			len(got.Domains) != 2 || got.Domains[1] != "example.net" || !got.AllowCreate || got.LinkByEmail || !got.SSOOnly ||
			!bytes.Equal(got.ClientSecret, c.ClientSecret) || !got.UpdatedAt.Equal(t0) {
			t.Fatalf("provider = %+v, %v", got, err)
		}
		if n := countAudit(t, s, audit.OrgSSOChanged); n != 2 {
			t.Fatalf("%d org.sso_changed entries, want 2", n)
		}

		if err := s.CreateUser(ctx, auth.User{ID: "u1", Email: "u1@example.org", Name: "One", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: t0}, nil); err != nil {
			t.Fatal(err)
		}
		id1 := auth.SSOIdentity{Issuer: c.Issuer, Subject: "sub-1", UserID: "u1", CreatedAt: t0}
		if err := s.LinkSSOIdentity(ctx, id1, audit.Entry{Time: t0, Action: audit.UserSSOLinked, ActorKind: audit.ActorUser, ActorID: "u1", SubjectKind: audit.SubjectUser, SubjectID: "u1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.LinkSSOIdentity(ctx, id1, audit.Entry{Time: t0, Action: audit.UserSSOLinked, ActorKind: audit.ActorUser, ActorID: "u1", SubjectKind: audit.SubjectUser, SubjectID: "u1"}); !errors.Is(err, auth.ErrSSOLinked) {
			t.Fatalf("linking a linked identity = %v", err)
		}
		if err := s.LinkSSOIdentity(ctx, auth.SSOIdentity{Issuer: c.Issuer, Subject: "x", UserID: "nobody", CreatedAt: t0}, audit.Entry{Time: t0, Action: audit.UserSSOLinked, ActorKind: audit.ActorSystem, SubjectKind: audit.SubjectUser}); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("linking to no account = %v", err)
		}
		if err := s.UseSSOIdentity(ctx, c.Issuer, "sub-1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		found, err := s.SSOIdentity(ctx, c.Issuer, "sub-1")
		if err != nil || found.UserID != "u1" || found.Created || !found.LastUsedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("identity = %+v, %v", found, err)
		}
		if _, err := s.SSOIdentity(ctx, "https://other.example.org", "sub-1"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("the same subject of another issuer = %v", err)
		}

		created := audit.Entry{Time: t0, Action: audit.UserSSOCreated, ActorKind: audit.ActorUser, ActorID: "u2", SubjectKind: audit.SubjectUser, SubjectID: "u2"}
		taken := auth.User{ID: "u3", Email: "u1@example.org", Name: "Three", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: t0}
		if err := s.CreateSSOUser(ctx, taken, auth.SSOIdentity{Issuer: c.Issuer, Subject: "sub-3", UserID: "u3", Created: true, CreatedAt: t0}, created); !errors.Is(err, auth.ErrEmailTaken) {
			t.Fatalf("an account with a taken e-mail = %v", err)
		}
		if _, err := s.SSOIdentity(ctx, c.Issuer, "sub-3"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("the refused account's identity = %v", err)
		}
		u2 := auth.User{ID: "u2", Email: "u2@example.org", Name: "Two", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: t0}
		if err := s.CreateSSOUser(ctx, u2, auth.SSOIdentity{Issuer: c.Issuer, Subject: "sub-2", UserID: "u2", Created: true, CreatedAt: t0}, created); err != nil {
			t.Fatal(err)
		}
		ids, err := s.UserSSOIdentities(ctx, "u2")
		if err != nil || len(ids) != 1 || !ids[0].Created || ids[0].Subject != "sub-2" {
			t.Fatalf("u2's identities = %+v, %v", ids, err)
		}
		if err := s.DeleteUser(ctx, "u2", auth.Guard{}, audit.Entry{Time: t0, Action: audit.UserDeleted, ActorKind: audit.ActorOperator, SubjectKind: audit.SubjectUser, SubjectID: "u2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SSOIdentity(ctx, c.Issuer, "sub-2"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a deleted account's identity = %v", err)
		}

		newKey, _ := auth.NewSealer(bytes.Repeat([]byte{2}, 32))
		if _, err := s.ResealAll(ctx, oldKey, newKey, audit.Entry{Time: t0, Action: audit.KeyRotated, ActorKind: audit.ActorOperator, SubjectKind: audit.SubjectServer}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.SSOConfig(ctx)
		if plain, err := newKey.Open(got.ClientSecret, auth.SSOSecretLabel+auth.SSORowID); err != nil || string(plain) != "s3cret" {
			t.Fatalf("the client secret after a rotation opens to %q, %v", plain, err)
		}
	})
}

func countAudit(t *testing.T, s *DB, action audit.Action) int {
	t.Helper()
	entries, err := s.AuditEntries(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == action {
			n++
		}
	}
	return n
}
