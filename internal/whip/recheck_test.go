package whip

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/store"
)

// lookups is a token store whose answer the test sets, counting look-ups.
type lookups struct {
	mu    sync.Mutex
	err   error
	calls int
	seen  chan struct{} // gets a value after each look-up
}

func (l *lookups) IngestTokenByHash(context.Context, []byte) (store.IngestToken, error) {
	l.mu.Lock()
	err := l.err
	l.calls++
	l.mu.Unlock()
	select {
	case l.seen <- struct{}{}:
	default:
	}
	return store.IngestToken{}, err
}

func (l *lookups) TouchIngestToken(context.Context, string, time.Time) error { return nil }

func (l *lookups) set(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

// TestSessionEndsWhenItsTokenIsGone: a running session looks its token up
// again and again; while the database fails it stays (a moment's outage
// ends no stream), and once the token is gone (revoked on another node of
// a cluster, whose EndToken cannot reach this one) the session ends.
func TestSessionEndsWhenItsTokenIsGone(t *testing.T) {
	tokens := &lookups{err: errors.New("database away"), seen: make(chan struct{}, 1)}
	h := New(Options{Tokens: tokens, Recheck: 5 * time.Millisecond})
	s := &session{id: "s1", proto: whipProtocol, tokenID: "t1", meeting: "m1", h: h, done: make(chan struct{})}
	h.mu.Lock()
	h.sessions[s.id], h.byToken[s.tokenID] = s, s
	h.mu.Unlock()
	ended := make(chan struct{})
	go func() { h.recheck(s); close(ended) }()

	deadline := time.After(10 * time.Second)
	for n := 0; n < 3; n++ {
		select {
		case <-tokens.seen:
		case <-deadline:
			t.Fatal("the token was not looked up again")
		}
	}
	if h.Sessions() != 1 {
		t.Fatal("a failed look-up ended the session")
	}

	tokens.set(store.ErrNotFound)
	select {
	case <-ended:
	case <-deadline:
		t.Fatal("the session outlived its token")
	}
	if h.Sessions() != 0 {
		t.Fatal("the session whose token is gone is still open")
	}
	select {
	case <-s.done:
	default:
		t.Fatal("the ended session is not marked done")
	}
}

// TestRecheckStopsWithTheSession: a session ended another way (DELETE,
// the room) stops looking its token up.
func TestRecheckStopsWithTheSession(t *testing.T) {
	tokens := &lookups{seen: make(chan struct{}, 1)}
	h := New(Options{Tokens: tokens, Recheck: 5 * time.Millisecond})
	s := &session{id: "s1", proto: whipProtocol, tokenID: "t1", meeting: "m1", h: h, done: make(chan struct{})}
	ended := make(chan struct{})
	go func() { h.recheck(s); close(ended) }()
	<-tokens.seen
	s.end()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the recheck goes on after its session ended")
	}
}
