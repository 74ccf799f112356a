package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestClosedSignUpSpendsNoHashing: a sign-up that will be refused (closed,
// or a taken e-mail) is refused before the password is hashed, so such
// requests cannot tie up the hashing that sign-ins wait for.
func TestClosedSignUpSpendsNoHashing(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	before := auth.Hashes(f.svc)
	for i := range 80 {
		ip := fmt.Sprintf("10.1.%d.%d", i/200, i%200+1)
		if _, _, err := f.svc.SignUp(ctx, fmt.Sprintf("user%d@example.org", i), "Someone", pw, ip); !errors.Is(err, auth.ErrSignUpClosed) {
			t.Fatalf("sign-up %d = %v, want closed", i, err)
		}
	}
	if n := auth.Hashes(f.svc) - before; n != 0 {
		t.Fatalf("80 refused sign-ups ran argon2id %d times, want 0", n)
	}
}

// raceStore holds every UserByID call until n have arrived, so n sign-ins
// with one TOTP code all read the account before any of them records the
// code as used: the worst interleaving, every time.
type raceStore struct {
	*store.SQLite
	mu    sync.Mutex
	armed int
	all   chan struct{}
}

func (r *raceStore) arm(n int) {
	r.mu.Lock()
	r.armed = n
	r.all = make(chan struct{})
	r.mu.Unlock()
}

func (r *raceStore) UserByID(ctx context.Context, id string) (auth.User, error) {
	u, err := r.SQLite.UserByID(ctx, id)
	r.mu.Lock()
	if r.armed == 0 {
		r.mu.Unlock()
		return u, err
	}
	r.armed--
	all := r.all
	if r.armed == 0 {
		close(all)
	}
	r.mu.Unlock()
	select {
	case <-all:
	case <-time.After(10 * time.Second):
	}
	return u, err
}

// TestOneTOTPCodeMakesOneSession: a code is spent by exactly one of many
// sign-ins that present it at the same moment.
func TestOneTOTPCodeMakesOneSession(t *testing.T) {
	f := newFixture(t)
	rs := &raceStore{SQLite: f.db}
	sealer, _ := auth.NewSealer(bytes.Repeat([]byte{7}, 32))
	svc := auth.NewService(auth.Options{Store: rs, Sealer: sealer, Now: f.clock.now, Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f.svc = svc
	u, _, err := svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := enrol(t, f, u)
	f.clock.advance(time.Minute)

	const n = 8
	challenges := make([]string, n)
	for i := range challenges {
		res, err := svc.SignIn(ctx, "ada@example.org", pw, fmt.Sprintf("10.0.1.%d", i+1))
		if err != nil || res.Challenge == "" {
			t.Fatalf("password step %d = %+v, %v", i, res, err)
		}
		challenges[i] = res.Challenge
	}
	code, _ := auth.TOTPCode(secret, f.clock.now())
	rs.arm(n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sessions := 0
	for i, ch := range challenges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := svc.SignInCode(ctx, ch, code, fmt.Sprintf("10.0.1.%d", i+1))
			if err == nil && res.Token != "" {
				mu.Lock()
				sessions++
				mu.Unlock()
			} else if !errors.Is(err, auth.ErrBadCode) && !errors.Is(err, auth.ErrRateLimited) {
				// (the refused ones spend the account's code budget)
				t.Errorf("sign-in %d = %v, want a session or a refusal", i, err)
			}
		}()
	}
	wg.Wait()
	if sessions != 1 {
		t.Fatalf("one code made %d sessions, want 1", sessions)
	}
}
