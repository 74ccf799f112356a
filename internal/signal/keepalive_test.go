package signal

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// keepaliveServer serves signalling sockets that ping every 20 ms and
// give a pong 200 ms; hello may take a minute, so only the keepalive
// can end a socket that says nothing.
func keepaliveServer(t *testing.T) (*Server, string) {
	t.Helper()
	srv := NewServer(Options{PingInterval: 20 * time.Millisecond, PingTimeout: 200 * time.Millisecond, HelloTimeout: time.Minute})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http")
}

// sessionsEnded is closed once no socket is open on srv. It first
// awaits the socket just dialled: a dial returns before the server
// tracks its session.
func sessionsEnded(t *testing.T, srv *Server) <-chan struct{} {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); openSessions(srv) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no session open 10 s after the dial")
		}
	}
	done := make(chan struct{})
	go func() {
		srv.running.Wait()
		close(done)
	}()
	return done
}

func openSessions(srv *Server) int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions)
}

// TestKeepaliveEndsSilentPeer: a client that reads its socket but no
// longer answers pings (a hung tab) is closed by the keepalive, its
// session ended, within the ping's interval and timeout; and so is one
// that does not read at all. Fails if the keepalive never pings, or
// pings once and never again (the timer not re-armed).
func TestKeepaliveEndsSilentPeer(t *testing.T) {
	for _, tc := range []struct {
		name string
		// pongs is how many pings the client answers before it stops.
		pongs int32
		read  bool
	}{
		{"answers 3 pings, then none", 3, true},
		{"never reads", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, url := keepaliveServer(t)
			var pings atomic.Int32
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
				OnPingReceived: func(context.Context, []byte) bool { return pings.Add(1) <= tc.pongs },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			readErr := make(chan error, 1)
			if tc.read {
				go func() {
					_, _, err := c.Read(ctx)
					readErr <- err
				}()
			}
			ended := sessionsEnded(t, srv)
			select {
			case <-ended:
			case <-time.After(10 * time.Second):
				t.Fatalf("session still open 10 s after the client stopped answering (%d pings seen)", pings.Load())
			}
			if tc.read {
				if n := pings.Load(); n <= tc.pongs {
					t.Fatalf("%d pings before the close, want more than the %d answered", n, tc.pongs)
				}
				select {
				case err := <-readErr:
					if err == nil {
						t.Fatal("client read a message, want its socket closed")
					}
				case <-time.After(10 * time.Second):
					t.Fatal("client's socket still open after its session ended")
				}
			}
		})
	}
}

// TestKeepaliveKeepsLivePeer: a client that answers every ping stays
// connected through many pings (each one re-arms the next), and a
// session that ends stops pinging.
func TestKeepaliveKeepsLivePeer(t *testing.T) {
	srv, url := keepaliveServer(t)
	var pings atomic.Int32
	tenth := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool {
			if pings.Add(1) == 10 {
				close(tenth)
			}
			return true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	go c.Read(ctx) //nolint:errcheck // reads answer the pings; ends with the socket
	select {
	case <-tenth:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d pings in 10 s, want 10 (every 20 ms)", pings.Load())
	}
	if n := openSessions(srv); n != 1 {
		t.Fatalf("%d sessions open after 10 answered pings, want 1", n)
	}
	ended := sessionsEnded(t, srv)
	c.Close(websocket.StatusNormalClosure, "")
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("session still open 10 s after the client closed")
	}
}
