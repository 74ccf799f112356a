package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/e2ee/e2eetest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// A participant who floods the server with messages it relays is slowed,
// then put out; the others notice nothing.

// flood is what a flooding client sends as fast as it can: end-to-end
// encrypted messages that the server fans out to every member.
type flood struct {
	name string
	size int // bytes of data in each e2ee_message
}

// TestFloodingIsThrottledThenClosed: a member of an end-to-end encrypted
// meeting sends e2ee_message as fast as it can, while another member
// reads its socket at 1 MB/s (a modest link). The reader stays connected
// and sees a third participant join; the flooder is told to slow down,
// then its socket is closed with reason "flooding".
func TestFloodingIsThrottledThenClosed(t *testing.T) {
	for i, f := range []flood{{"large messages", 48 << 10}, {"chat-sized messages", 300}} {
		t.Run(f.name, func(t *testing.T) {
			srv := &testServer{servertest.Start(t, servertest.Options{})}
			set := servertest.OpenSettings()
			set.E2EE = true
			id := srv.Admin(t).NewMeeting(t, set).ID
			addr := func(host int) string { return fmt.Sprintf("127.0.6.%d", 4*i+host) }

			flooder := srv.dialRawFrom(t, addr(1))
			flooder.send(map[string]any{"type": "hello", "v": 1, "meeting": id, "name": "Flooder", "keyPackage": e2eetest.KeyPackage("kp-f")})
			if m := flooder.next(); m.Type != "welcome" {
				t.Fatalf("flooder's hello: %+v", m)
			}
			if j := flooder.nextOf("e2ee_job"); !j.Create {
				t.Fatalf("flooder's first job = %+v, want create", j)
			}
			reader := srv.dialRawFrom(t, addr(2))
			reader.send(map[string]any{"type": "hello", "v": 1, "meeting": id, "name": "Reader", "keyPackage": e2eetest.KeyPackage("kp-r")})
			if m := reader.next(); m.Type != "welcome" {
				t.Fatalf("reader's hello: %+v", m)
			}
			flooder.nextOf("e2ee_job")
			flooder.send(map[string]any{"type": "e2ee_commit", "epoch": 0, "commit": []byte("c1"), "welcome": []byte("w")})
			flooder.nextOf("e2ee_commit_ok")
			reader.nextOf("e2ee_welcome")

			// The reader reads at 1 MB/s and reports every message type.
			got := make(chan string, 1<<16)
			go reader.readSlowly(t.Context(), 1<<20, got)
			// The flooder's own socket: what it is told, and how it ends.
			told := make(chan serverMsg, 1<<10)
			closed := make(chan websocket.StatusCode, 1)
			go func() {
				for {
					_, b, err := flooder.conn.Read(context.Background())
					if err != nil {
						closed <- websocket.CloseStatus(err)
						close(told)
						return
					}
					var m serverMsg
					json.Unmarshal(b, &m)
					told <- m
				}
			}()
			msg, _ := json.Marshal(map[string]any{"type": "e2ee_message", "epoch": 1, "kind": "chat", "data": make([]byte, f.size)})
			var sent atomic.Int64
			go func() {
				for {
					if flooder.conn.Write(context.Background(), websocket.MessageText, msg) != nil {
						return
					}
					sent.Add(1)
				}
			}()

			awaitTold(t, told, "error", "rate_limited")
			third := srv.dialRawFrom(t, addr(3))
			third.send(map[string]any{"type": "hello", "v": 1, "meeting": id, "name": "Third", "keyPackage": e2eetest.KeyPackage("kp-t")})
			if m := third.next(); m.Type != "welcome" {
				t.Fatalf("third's hello: %+v", m)
			}
			awaitType(t, got, "participant_joined", 5*time.Second)

			awaitTold(t, told, "closed", "flooding")
			select {
			case st := <-closed:
				if st != websocket.StatusPolicyViolation {
					t.Fatalf("the flooder's socket closed with %v, want %v", st, websocket.StatusPolicyViolation)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the flooder's socket stayed open")
			}
			// The reader is still there, and answered.
			reader.send(map[string]any{"type": "ping"})
			awaitType(t, got, "pong", 5*time.Second)
			t.Logf("the flooder wrote %d messages into its socket before it was closed", sent.Load())
		})
	}
}

// nextOf returns the next message of type typ as an e2ee message, skipping
// others.
func (r *rawConn) nextOf(typ string) e2eeMsg {
	r.t.Helper()
	for {
		if m := r.nextE2EE(); m.Type == typ {
			return m
		}
	}
}

// readSlowly reads the socket at about rate bytes a second, as a client
// on a slow link does, and sends each message's type to got; "" when the
// socket closes or ctx ends.
func (r *rawConn) readSlowly(ctx context.Context, rate float64, got chan<- string) {
	start, total := time.Now(), 0
	for {
		_, b, err := r.conn.Read(ctx)
		if err != nil {
			got <- ""
			return
		}
		var m struct{ Type string }
		json.Unmarshal(b, &m)
		got <- m.Type
		total += len(b)
		// Pace the link, not the test: nothing waits on this.
		pause := time.NewTimer(time.Until(start.Add(time.Duration(float64(total) / rate * float64(time.Second)))))
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
			got <- ""
			return
		}
	}
}

// awaitType waits for a message of typ among those got reports, failing
// if the socket closes first.
func awaitType(t *testing.T, got <-chan string, typ string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m := <-got:
			switch m {
			case typ:
				return
			case "":
				t.Fatalf("the socket closed before %s arrived", typ)
			}
		case <-deadline:
			t.Fatalf("no %s within %v", typ, within)
		}
	}
}

// awaitTold waits for a message of typ with code or reason want on told.
func awaitTold(t *testing.T, told <-chan serverMsg, typ, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-told:
			if !ok {
				t.Fatalf("the flooder's socket closed before %s %s", typ, want)
			}
			if m.Type == typ && (m.Code == want || m.Reason == want) {
				return
			}
		case <-deadline:
			t.Fatalf("the flooder was not sent %s %s", typ, want)
		}
	}
}
