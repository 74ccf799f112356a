//go:build linux

package sfu

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSinglePortBuffersGrow: the single port's socket gets the buffers
// asked for, well past the kernel's default, or as far as
// net.core.rmem_max and wmem_max let an unprivileged process go.
func TestSinglePortBuffersGrow(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var defRcv, defSnd int
	if err := rc.Control(func(fd uintptr) {
		defRcv, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		defSnd, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
	}); err != nil {
		t.Fatal(err)
	}
	rcv, snd, err := setBuffers(c, singlePortBuffer)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("receive %d, send %d bytes (default %d, %d; asked %d)", rcv, snd, defRcv/2, defSnd/2, singlePortBuffer)
	if rcv >= singlePortBuffer && snd >= singlePortBuffer {
		return
	}
	if os.Geteuid() == 0 {
		t.Fatalf("as root: receive %d, send %d bytes, want %d each", rcv, snd, singlePortBuffer)
	}
	if rcv <= defRcv/2 || snd <= defSnd/2 {
		t.Skipf("unprivileged and capped at the default (net.core.rmem_max, wmem_max)")
	}
}
