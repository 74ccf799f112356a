package signal

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKeepaliveIgnoresUnsolicitedPongs: a client that never answers the
// server's pings but sends pongs of its own every few milliseconds (a
// peer faking liveness without reading) is still closed by the
// keepalive: only a pong carrying the ping's payload counts. Fails if
// any pong re-arms the keepalive or answers its ping.
func TestKeepaliveIgnoresUnsolicitedPongs(t *testing.T) {
	srv, url := keepaliveServer(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET / HTTP/1.1\r\nHost: kaigi.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	ended := sessionsEnded(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Masked pongs with a payload of our own; what the server sends
		// (its pings) is never read.
		payload := []byte("alive!")
		mask := [4]byte{9, 8, 7, 6}
		frame := []byte{0x8a, 0x80 | byte(len(payload)), mask[0], mask[1], mask[2], mask[3]}
		for i, b := range payload {
			frame = append(frame, b^mask[i%4])
		}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.Write(frame); err != nil {
					return
				}
			}
		}
	}()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("a client sending only unsolicited pongs still connected 5 s on (ping every 20 ms, pong awaited 200 ms)")
	}
}
