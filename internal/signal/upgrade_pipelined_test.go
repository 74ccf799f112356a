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

// TestUpgradeKeepsManyFramesBehindTheRequest: a client that sends,
// in the packet of its upgrade request, more frames than the socket's
// own 1 KiB buffer holds (30 pings of 100 bytes, about 3 KiB) has every
// one answered, in order: what net/http had read past the request is
// carried over whole, not cut at upgradeBufSize, and the connection's
// later bytes follow it. Fails if any is lost or reordered.
func TestUpgradeKeepsManyFramesBehindTheRequest(t *testing.T) {
	hs := httptest.NewServer(NewServer(Options{HelloTimeout: time.Minute}))
	defer hs.Close()
	c, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	ping := func(i int) []byte {
		payload := bytes.Repeat([]byte{byte('a' + i%26)}, 100)
		mask := [4]byte{1, 2, 3, byte(i)}
		f := []byte{0x89, 0x80 | byte(len(payload)), mask[0], mask[1], mask[2], mask[3]}
		for j, b := range payload {
			f = append(f, b^mask[j%4])
		}
		return f
	}
	const behind, after = 30, 5
	msg := []byte("GET / HTTP/1.1\r\nHost: kaigi.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	for i := range behind {
		msg = append(msg, ping(i)...)
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for i := range behind + after {
		if i == behind {
			// Then more, on the connection after the upgrade.
			var more []byte
			for j := behind; j < behind+after; j++ {
				more = append(more, ping(j)...)
			}
			if _, err := c.Write(more); err != nil {
				t.Fatal(err)
			}
		}
		head := make([]byte, 2)
		if _, err := io.ReadFull(br, head); err != nil {
			t.Fatalf("pong %d: %v", i, err)
		}
		if head[0] != 0x8a || head[1] != 100 {
			t.Fatalf("frame %d header %x, want a pong of 100 bytes", i, head)
		}
		got := make([]byte, 100)
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatal(err)
		}
		if want := bytes.Repeat([]byte{byte('a' + i%26)}, 100); !bytes.Equal(got, want) {
			t.Fatalf("pong %d carries %q..., want %q...", i, got[:4], want[:4])
		}
	}
}
