package sfu

import (
	"bytes"
	"context"
	"encoding/binary"
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
