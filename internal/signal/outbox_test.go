package signal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestOutbox: frames come out in the order they went in, at most
// outboxSize wait (the next is refused, as a full channel was), a frame
// taken is no longer held by the queue, an emptied outbox keeps no array
// longer than keptCap (an idle session holds next to nothing), and a
// writer is asked for exactly when none runs.
func TestOutbox(t *testing.T) {
	o := newOutbox()
	for i := range outboxSize {
		ok, start := o.put(frame{data: []byte(fmt.Sprint(i))})
		if !ok {
			t.Fatalf("frame %d refused, want room for %d", i, outboxSize)
		}
		if start != (i == 0) {
			t.Fatalf("frame %d: start a writer %v, want only for the first", i, start)
		}
	}
	if ok, _ := o.put(frame{data: []byte("one too many")}); ok {
		t.Fatalf("a frame beyond %d accepted", outboxSize)
	}
	if o.len() != outboxSize {
		t.Fatalf("len %d, want %d", o.len(), outboxSize)
	}
	// Take half, put half again: the waiting frames slide to the front
	// instead of the array growing.
	full := cap(o.q)
	for i := range outboxSize / 2 {
		f, ok := o.next()
		if !ok || string(f.data) != fmt.Sprint(i) {
			t.Fatalf("next %d: %q %v", i, f.data, ok)
		}
		if o.q[o.head-1].data != nil {
			t.Fatalf("slot of taken frame %d still holds its data", i)
		}
	}
	for i := range outboxSize / 2 {
		if ok, start := o.put(frame{data: []byte(fmt.Sprint(outboxSize + i))}); !ok || start {
			t.Fatalf("frame %d: ok %v, start %v with %d waiting and a writer running", outboxSize+i, ok, start, o.len())
		}
	}
	if cap(o.q) != full {
		t.Fatalf("array grew from %d to %d slots for %d frames", full, cap(o.q), outboxSize)
	}
	for i := outboxSize / 2; i < outboxSize+outboxSize/2; i++ {
		f, ok := o.next()
		if !ok || string(f.data) != fmt.Sprint(i) {
			t.Fatalf("next %d: %q %v", i, f.data, ok)
		}
	}
	if o.q != nil {
		t.Fatalf("an emptied outbox keeps %d slots, want none beyond %d", cap(o.q), keptCap)
	}
	if _, ok := o.next(); ok || o.len() != 0 {
		t.Fatalf("frames left: %d", o.len())
	}
	// The writer returned (next said so): the next put asks for one, and
	// a short burst keeps its small array.
	if _, start := o.put(frame{data: []byte("a")}); !start {
		t.Fatal("no writer asked for after the last one returned")
	}
	o.put(frame{data: []byte("b")})
	o.next()
	o.next()
	if cap(o.q) == 0 || cap(o.q) > keptCap {
		t.Fatalf("after a burst of 2 the outbox keeps %d slots, want 1-%d", cap(o.q), keptCap)
	}
	if _, ok := o.next(); ok {
		t.Fatal("a frame after the burst")
	}
	// stop waits for a running writer, and no writer starts after it.
	o.put(frame{data: []byte("c")})
	stopped := make(chan struct{})
	go func() {
		o.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("stop returned while a writer ran")
	case <-time.After(20 * time.Millisecond):
	}
	o.quit() // the writer returns
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("stop still waiting 10 s after the writer returned")
	}
	if ok, start := o.put(frame{data: []byte("d")}); !ok || start {
		t.Fatalf("put after stop: ok %v, start %v; want dropped quietly", ok, start)
	}
}

// TestSessionWriterComesAndGoes: through a real socket, bursts of
// messages queued while the previous burst is still being written reach
// the client complete and in order, and between bursts no writer runs
// (the goroutine the session no longer keeps).
func TestSessionWriterComesAndGoes(t *testing.T) {
	srv, url := keepaliveServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	sessionsEnded(t, srv) // awaits the session
	var sess *session
	srv.mu.Lock()
	for s := range srv.sessions {
		sess = s
	}
	srv.mu.Unlock()
	const bursts, each = 5, 200
	for b := range bursts {
		for i := range each {
			sess.sendBytes([]byte(fmt.Sprint(b*each + i)))
		}
		for i := range each {
			_, m, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("burst %d, message %d: %v", b, i, err)
			}
			if want := fmt.Sprint(b*each + i); string(m) != want {
				t.Fatalf("burst %d: got %q, want %q", b, m, want)
			}
		}
		// The last message is out; the writer returns once it finds the
		// outbox empty.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			sess.out.mu.Lock()
			writing := sess.out.writing
			sess.out.mu.Unlock()
			if !writing {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("burst %d: a writer still runs 10 s after the outbox emptied", b)
			}
		}
	}
}
