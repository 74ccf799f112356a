package signal

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi-meet/kaigi/internal/live"
)

// panickingDirectory stands for any bug on the path a client's message
// takes through the reader (handle): every lookup panics (nil embedded
// interface).
type panickingDirectory struct{ live.MeetingDirectory }

// TestSessionPanicEndsOnlyItsSocket: a panic while handling one client's
// message ends that client's socket, not the server. While the session
// ran on net/http's request goroutine, net/http recovered a handler's
// panic and closed only that connection; since ServeHTTP starts the
// session on a goroutine of its own (0a33875), nothing recovers it and
// one hostile message that reaches any panic takes down every meeting on
// the node. Runs the server in a child process, which must survive a
// panicking hello and still accept the next socket.
func TestSessionPanicEndsOnlyItsSocket(t *testing.T) {
	if os.Getenv("KAIGI_SIGNAL_PANIC_CHILD") == "1" {
		panicChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSessionPanicEndsOnlyItsSocket$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "KAIGI_SIGNAL_PANIC_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		s := string(out)
		if i := strings.Index(s, "panic:"); i >= 0 {
			s = s[i:min(len(s), i+600)]
		}
		t.Fatalf("the server's process died of one client's panicking message: %v\n%s", err, s)
	}
}

func panicChild(t *testing.T) {
	srv := NewServer(Options{Meetings: panickingDirectory{}, HelloTimeout: time.Minute})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","v":1,"meeting":"7k3m-q9xd-2hfa-b8rn","name":"Ada"}`)); err != nil {
		t.Fatal(err)
	}
	// The socket ends (before 0a33875 net/http recovered the panic but
	// left the hijacked connection open, its goroutines running), and
	// the process outlives it.
	readCtx, readCancel := context.WithTimeout(ctx, 2*time.Second)
	defer readCancel()
	for {
		if _, _, err := c.Read(readCtx); err != nil {
			break
		}
	}
	if readCtx.Err() != nil {
		t.Error("the panicking session's socket stayed open")
	}
	// The server still serves.
	dialCtx, dialCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dialCancel()
	c2, _, err := websocket.Dial(dialCtx, url, nil)
	if err != nil {
		t.Fatalf("no second socket after the first one's panic: %v", err)
	}
	c2.CloseNow()
}
