package store

import (
	"context"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// TestSignedRecordingKey: a recording key is kept with its browser's
// signature, and a key set again without one loses the old signature
// (a signature belongs to one key).
func TestSignedRecordingKey(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, s *DB) {
		t0 := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
		if err := s.CreateUser(ctx, auth.User{ID: "ada", Email: "ada@example.org", Name: "Ada", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: t0}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetSignedRecordingKey(ctx, "ada", []byte("key one"), []byte("signature of key one"), t0); err != nil {
			t.Fatal(err)
		}
		pub, sig, at, err := s.SignedRecordingKey(ctx, "ada")
		if err != nil || string(pub) != "key one" || string(sig) != "signature of key one" || !at.Equal(t0) {
			t.Fatalf("signed key: %q %q %v %v", pub, sig, at, err)
		}
		if err := s.SetRecordingKey(ctx, "ada", []byte("key two"), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if pub, sig, _, err := s.SignedRecordingKey(ctx, "ada"); err != nil || string(pub) != "key two" || sig != nil {
			t.Fatalf("key set again unsigned: %q %q %v", pub, sig, err)
		}
		if err := s.SetSignedRecordingKey(ctx, "nobody", []byte("k"), []byte("s"), t0); err != ErrNotFound {
			t.Fatalf("a key for no account: %v", err)
		}
	})
}
