package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// TestCeremonies: a ceremony is found by its key and family and, where it
// has one, its binding; taking it deletes it (a second take finds
// nothing, even two at once); a take with another binding finds nothing
// and leaves it for its own browser; expired ones go when the next is
// put; beyond the bound the oldest of the family give way, the other
// family untouched; a sign-in's failed attempts are counted on it.
func TestCeremonies(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, s *DB) {
		t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		key := func(i int) []byte { h := sha256.Sum256([]byte(fmt.Sprint(i))); return h[:] }
		bind := key(-1)
		put := func(i int, family string, b []byte, expires time.Time, max int) {
			t.Helper()
			c := auth.Ceremony{Key: key(i), Family: family, Bind: b, Data: []byte(fmt.Sprintf(`{"n":%d}`, i)), ExpiresAt: expires}
			if err := s.PutCeremony(ctx, c, max, t0); err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
		}
		put(1, auth.FamilySSO, bind, t0.Add(10*time.Minute), 100)
		if _, err := s.TakeCeremony(ctx, auth.FamilySSO, key(1), key(-2)); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("take with another binding = %v, want ErrNotFound", err)
		}
		if _, err := s.TakeCeremony(ctx, auth.FamilyPasskey, key(1), bind); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("take in another family = %v, want ErrNotFound", err)
		}
		c, err := s.TakeCeremony(ctx, auth.FamilySSO, key(1), bind)
		if err != nil || string(c.Data) != `{"n":1}` || !c.ExpiresAt.Equal(t0.Add(10*time.Minute)) || !bytes.Equal(c.Bind, bind) {
			t.Fatalf("take = %+v, %v", c, err)
		}
		if _, err := s.TakeCeremony(ctx, auth.FamilySSO, key(1), bind); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a second take = %v, want ErrNotFound", err)
		}

		// Two nodes answering at once: one takes it.
		put(2, auth.FamilyPasskey, nil, t0.Add(time.Minute), 100)
		var wg sync.WaitGroup
		var mu sync.Mutex
		taken := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.TakeCeremony(ctx, auth.FamilyPasskey, key(2), nil); err == nil {
					mu.Lock()
					taken++
					mu.Unlock()
				} else if !errors.Is(err, auth.ErrNotFound) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if taken != 1 {
			t.Fatalf("%d simultaneous takes succeeded, want 1", taken)
		}

		// Expired ones go; beyond the bound the oldest of the family go.
		put(3, auth.FamilyPasskey, nil, t0.Add(-time.Second), 100)
		put(4, auth.FamilySSO, bind, t0.Add(time.Minute), 100)
		for i := 10; i < 15; i++ {
			put(i, auth.FamilyPasskey, nil, t0.Add(time.Duration(i)*time.Minute), 3)
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_ceremonies WHERE family = ?`, auth.FamilyPasskey).Scan(&n); err != nil || n != 3 {
			t.Fatalf("%d passkey ceremonies kept with a bound of 3 (%v)", n, err)
		}
		for i, want := range map[int]bool{3: false, 10: false, 11: false, 12: true, 13: true, 14: true} {
			_, err := s.TakeCeremony(ctx, auth.FamilyPasskey, key(i), nil)
			if got := err == nil; got != want {
				t.Errorf("ceremony %d kept = %v, want %v (%v)", i, got, want, err)
			}
		}
		if _, err := s.TakeCeremony(ctx, auth.FamilySSO, key(4), bind); err != nil {
			t.Errorf("the other family's ceremony went: %v", err)
		}

		// A sign-in's wrong answers are counted on it, one at a time.
		put(20, auth.FamilySignIn, nil, t0.Add(5*time.Minute), 100)
		for want := 1; want <= 3; want++ {
			if n, err := s.CountCeremonyAttempt(ctx, auth.FamilySignIn, key(20)); err != nil || n != want {
				t.Fatalf("attempt %d counted as %d (%v)", want, n, err)
			}
		}
		if c, err := s.PeekCeremony(ctx, auth.FamilySignIn, key(20)); err != nil || c.Attempts != 3 || string(c.Data) != `{"n":20}` {
			t.Fatalf("peek = %+v, %v", c, err)
		}
		if c, err := s.TakeCeremony(ctx, auth.FamilySignIn, key(20), nil); err != nil || c.Attempts != 3 {
			t.Fatalf("take after attempts = %+v, %v", c, err)
		}
		if _, err := s.CountCeremonyAttempt(ctx, auth.FamilySignIn, key(20)); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("an attempt on a taken sign-in = %v, want ErrNotFound", err)
		}
		if _, err := s.PeekCeremony(ctx, auth.FamilySignIn, key(20)); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("peek at a taken sign-in = %v, want ErrNotFound", err)
		}
	})
}
