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

func passkeyRec(user string, action audit.Action) audit.Entry {
	return audit.Entry{Time: time.Now(), Action: action, ActorKind: audit.ActorUser, ActorID: user, SubjectKind: audit.SubjectUser, SubjectID: user}
}

// TestPasskeys: passkeys are stored per account with their audit entry,
// a credential ID is unique across accounts, use, rename and delete
// touch only the owner's, the last one stays when asked to, and a
// two-factor reset and the account's deletion remove them.
func TestPasskeys(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, s *DB) {
		t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		for _, id := range []string{"u1", "u2"} {
			if err := s.CreateUser(ctx, auth.User{ID: id, Email: id + "@example.org", Name: id, Role: auth.RoleMember, PasswordHash: "h", CreatedAt: t0}, nil); err != nil {
				t.Fatal(err)
			}
		}
		k1 := auth.Passkey{ID: []byte{1, 2, 3}, UserID: "u1", Name: "Laptop", Credential: []byte(`{"id":"AQID"}`), CreatedAt: t0}
		k2 := auth.Passkey{ID: []byte{4, 5, 6}, UserID: "u1", Name: "Phone", Credential: []byte(`{}`), CreatedAt: t0.Add(time.Minute)}
		for _, k := range []auth.Passkey{k1, k2} {
			if err := s.AddPasskey(ctx, k, passkeyRec("u1", audit.UserPasskeyAdded)); err != nil {
				t.Fatal(err)
			}
		}
		taken := auth.Passkey{ID: k1.ID, UserID: "u2", Name: "Copy", Credential: []byte(`{}`), CreatedAt: t0}
		if err := s.AddPasskey(ctx, taken, passkeyRec("u2", audit.UserPasskeyAdded)); !errors.Is(err, auth.ErrPasskeyRegistered) {
			t.Fatalf("a credential ID registered twice = %v", err)
		}
		if err := s.AddPasskey(ctx, auth.Passkey{ID: []byte{9}, UserID: "nobody", Name: "x", Credential: []byte(`{}`), CreatedAt: t0}, passkeyRec("nobody", audit.UserPasskeyAdded)); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a passkey for no account = %v", err)
		}
		keys, err := s.Passkeys(ctx, "u1")
		if err != nil || len(keys) != 2 || keys[0].Name != "Laptop" || !bytes.Equal(keys[0].Credential, k1.Credential) || !keys[0].CreatedAt.Equal(t0) || !keys[0].LastUsedAt.IsZero() {
			t.Fatalf("passkeys = %+v, %v", keys, err)
		}
		if n, _ := s.CountPasskeys(ctx, "u2"); n != 0 {
			t.Fatalf("u2 has %d passkeys", n)
		}
		used := t0.Add(time.Hour)
		if err := s.UsePasskey(ctx, k1.ID, []byte(`{"n":2}`), used); err != nil {
			t.Fatal(err)
		}
		got, err := s.PasskeyByID(ctx, k1.ID)
		if err != nil || got.UserID != "u1" || string(got.Credential) != `{"n":2}` || !got.LastUsedAt.Equal(used) {
			t.Fatalf("after use: %+v, %v", got, err)
		}
		if err := s.RenamePasskey(ctx, "u2", k1.ID, "Mine now"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("renaming another's passkey = %v", err)
		}
		if err := s.RenamePasskey(ctx, "u1", k1.ID, "Work laptop"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePasskey(ctx, "u2", k1.ID, false, passkeyRec("u2", audit.UserPasskeyDeleted)); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("deleting another's passkey = %v", err)
		}
		if err := s.DeletePasskey(ctx, "u1", k2.ID, true, passkeyRec("u1", audit.UserPasskeyDeleted)); err != nil {
			t.Fatalf("deleting one of two, keeping one: %v", err)
		}
		if err := s.DeletePasskey(ctx, "u1", k1.ID, true, passkeyRec("u1", audit.UserPasskeyDeleted)); !errors.Is(err, auth.ErrPasskeyRequired) {
			t.Fatalf("deleting the last, keeping one = %v", err)
		}
		entries, _ := s.AuditEntries(ctx, 0, 100)
		if len(entries) != 3 { // two added, one deleted; the refusals left none
			t.Fatalf("%d audit entries, want 3", len(entries))
		}
		if err := s.ResetTwoFactor(ctx, "u1", audit.Entry{Time: t0, Action: audit.UserTwoFactorReset, ActorKind: audit.ActorOperator, SubjectKind: audit.SubjectUser, SubjectID: "u1"}); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountPasskeys(ctx, "u1"); n != 0 {
			t.Fatalf("%d passkeys after a two-factor reset", n)
		}
		if err := s.AddPasskey(ctx, auth.Passkey{ID: []byte{7}, UserID: "u2", Name: "x", Credential: []byte(`{}`), CreatedAt: t0}, passkeyRec("u2", audit.UserPasskeyAdded)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, "u2", auth.Guard{}, audit.Entry{Time: t0, Action: audit.UserDeleted, ActorKind: audit.ActorOperator, SubjectKind: audit.SubjectUser, SubjectID: "u2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PasskeyByID(ctx, []byte{7}); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a deleted account's passkey = %v", err)
		}
	})
}
