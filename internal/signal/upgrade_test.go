package signal

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestUpgradeKeepsBytesBehindTheRequest: a client that sends its first
// frame in the same packet as its upgrade request (here a ping) is
// answered: the bytes net/http had read past the request reach the
// socket's own, smaller buffer (upgrade.go) rather than being lost
// with net/http's. Fails if ownBuffers.Hijack drops what was buffered.
func TestUpgradeKeepsBytesBehindTheRequest(t *testing.T) {
	hs := httptest.NewServer(NewServer(Options{HelloTimeout: time.Minute})) // no ping for 15 s
	defer hs.Close()
	c, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	payload := bytes.Repeat([]byte("p"), 100)
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x89, 0x80 | byte(len(payload)), mask[0], mask[1], mask[2], mask[3]} // FIN ping, masked
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	req := "GET / HTTP/1.1\r\nHost: kaigi.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", resp.Status)
	}
	head := make([]byte, 2)
	if _, err := io.ReadFull(br, head); err != nil {
		t.Fatalf("no frame after the upgrade: %v", err)
	}
	if head[0] != 0x8a || int(head[1]) != len(payload) {
		t.Fatalf("frame header %x, want a pong (8a) of %d bytes", head, len(payload))
	}
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("pong payload %q (%v), want the ping's", got, err)
	}
}
