package signal

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestOutboxBoundedForSilentReader: a client that never reads its socket
// while the server keeps sending to it (others chat, react, renegotiate)
// holds at most outboxSize frames in its outbox: the next one closes its
// socket as too slow, the session ends, and neither its writer nor its
// keepalive's goroutine outlives it. Fails if the outbox grows past its
// bound, if the slow client is never closed, or if a writer or ping
// goroutine is left behind.
func TestOutboxBoundedForSilentReader(t *testing.T) {
	srv, url := keepaliveServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow() // never read
	ended := sessionsEnded(t, srv)
	srv.mu.Lock()
	var sess *session
	for s := range srv.sessions {
		sess = s
	}
	srv.mu.Unlock()
	// 32 KiB a message: kernel buffers fill after a few, the outbox then.
	msg := bytes.Repeat([]byte("x"), 32<<10)
	sent := 0
	for sess.ctx.Err() == nil && sent < 10*outboxSize {
		sess.sendBytes(msg)
		sent++
		if n := sess.out.len(); n > outboxSize {
			t.Fatalf("%d frames wait in the outbox, bound %d", n, outboxSize)
		}
	}
	if sess.ctx.Err() == nil {
		t.Fatalf("%d messages queued to a client that reads nothing and its session goes on", sent)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("session still tracked 10 s after it was closed as too slow")
	}
	// Its writer and any ping in flight return (they are cancelled).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		left := sessionGoroutines()
		if left == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines of the ended session left:\n%s", left)
		}
	}
}

// sessionGoroutines are the stacks of goroutines running a session's
// writer or keepalive ping.
func sessionGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "signal.(*session).write(") || strings.Contains(g, "signal.(*session).ping(") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
