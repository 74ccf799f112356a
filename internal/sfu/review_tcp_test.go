package sfu

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer for a logger written from several
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReviewTCPLogsNoParticipantAddress: the SFU's own ICE-TCP log lines
// (a connection whose peer stopped reading, reset; the packets it
// dropped) say what kind of address the peer had, never the address: it
// is a participant's (anyone with an invite link), and the SFU's other
// media logs (batch.go, destKind) and docs/operations.md's list of what
// is logged keep it out. A client connects, never reads, and is written
// to until frames are dropped and the connection is reset.
func TestReviewTCPLogsNoParticipantAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs syncBuffer
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	l := newTCPListener(ln, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer l.Close()
	client, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_ = client.SetReadBuffer(4096) // a small window: the stall comes sooner
	nc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*tcpConn)
	defer c.Close()

	frame := make([]byte, 1202)
	binary.BigEndian.PutUint16(frame, uint16(len(frame)-2))
	for c.l.dropped.Load() == 0 {
		if _, err := c.Write(frame); err != nil {
			t.Fatalf("write: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("no frame dropped")
		}
	}
	await(t, ctx, "the stalled connection reset", func() bool { return l.stalls.Load() > 0 && l.open() == 0 })

	out := logs.String()
	if !strings.Contains(out, "reset an ICE-TCP connection") || !strings.Contains(out, "packets dropped") {
		t.Fatalf("the reset and the drops were not logged:\n%s", out)
	}
	port := strconv.Itoa(client.LocalAddr().(*net.TCPAddr).Port)
	for _, leak := range []string{"127.0.0.1", ":" + port, "=" + port} {
		if strings.Contains(out, leak) {
			t.Errorf("the log holds the participant's address (%q):\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "loopback IPv4") {
		t.Errorf("the log does not say what kind of address the peer had:\n%s", out)
	}
}

// TestReviewICETCPUnansweredConnectionsAreBounded: anyone can connect to
// the ICE-TCP port with no credential. A flood of connections that never
// send an ICE check (300 here, the bound lowered to 50) keeps at most the
// bound open (the oldest closed for newer ones, said in the log), while a
// participant's connection, answered by the SFU (pion writes only after
// a check passed the peer's credentials), stays open and keeps working
// throughout. Without the bound all 300 stay open, each with a file
// descriptor and pion's goroutine, for 30 s: enough of them take every
// descriptor the server has.
func TestReviewICETCPUnansweredConnectionsAreBounded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs syncBuffer
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	l := newTCPListener(ln, slog.New(slog.NewTextHandler(&logs, nil)))
	const most = 50
	l.mu.Lock()
	l.maxUnanswered = most
	l.mu.Unlock()
	// pion's mux: each accepted connection read by a goroutine of its
	// own until it fails.
	accepted := make(chan *tcpConn, 1)
	var readers sync.WaitGroup
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			c := nc.(*tcpConn)
			readers.Add(1)
			go func() {
				defer readers.Done()
				buf := make([]byte, 1500)
				for {
					if _, err := c.Read(buf); err != nil {
						_ = c.Close()
						return
					}
				}
			}()
			select {
			case accepted <- c:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		l.mu.Lock()
		var cs []*tcpConn
		for c := range l.conns {
			cs = append(cs, c)
		}
		l.mu.Unlock()
		for _, c := range cs {
			c.Close()
		}
		readers.Wait()
	})
	dial := func() *net.TCPConn {
		c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	frame := []byte{0, 3, 'a', 'b', 'c'}

	// A participant: connected and answered.
	legit := dial()
	var lc *tcpConn
	select {
	case lc = <-accepted:
	case <-ctx.Done():
		t.Fatal("not accepted")
	}
	if _, err := lc.Write(frame); err != nil {
		t.Fatal(err)
	}
	// The flood.
	for i := 0; i < 300; i++ {
		dial()
	}
	await(t, ctx, "the flood accepted", func() bool { return l.unheard.Load()+uint64(l.open()) >= 301 })
	if n := l.open(); n > most+1 {
		t.Fatalf("%d connections open after a flood of 300 idle ones, want at most %d and the participant's", n, most)
	}
	if n := int(l.unheard.Load()); n != 300-most {
		t.Fatalf("%d idle connections closed, want %d", n, 300-most)
	}
	// The participant's connection still works, both frames arrive.
	if _, err := lc.Write(frame); err != nil {
		t.Fatalf("the participant's connection was closed: %v", err)
	}
	_ = legit.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 2*len(frame))
	if _, err := io.ReadFull(legit, got); err != nil || !bytes.Equal(got, append(append([]byte{}, frame...), frame...)) {
		t.Fatalf("the participant read %q, %v", got, err)
	}
	if out := logs.String(); !strings.Contains(out, "closed for newer ones") || strings.Count(out, "closed for newer ones") > 4 {
		t.Fatalf("want the eviction said, a few times at most:\n%s", out)
	}
}
