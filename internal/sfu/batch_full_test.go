//go:build linux

package sfu

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSendWaitsForAFullSocket: a flush that meets a socket whose send
// buffer is full (EAGAIN, after a partial sendmmsg) waits until the
// socket takes more and goes on from the first datagram not sent: none
// lost, none twice, in order. On loopback a UDP socket's buffer never
// fills (the kernel frees each datagram as it is delivered), so the test
// sends through a datagram socket pair, whose receiving queue fills when
// nobody reads it; the flush's system call loop (sendState.sendmmsg, run
// by RawConn.Write) is the one the SFU's UDP sockets use.
func TestSendWaitsForAFullSocket(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skip(err)
	}
	_ = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 1) // the kernel's least
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "pair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	send, recv := conn(fds[0]), conn(fds[1])
	rc, err := send.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}

	// A full queue's worth of datagrams, each alone in its message.
	const n = queueDatagrams
	var st sendState
	st.init()
	data := make([][]byte, n)
	for i := range data {
		data[i] = datagram(0, i, 1000+i%200)
		st.iovs[i].Base = &data[i][0]
		st.iovs[i].SetLen(len(data[i]))
		h := &st.hdrs[i].Hdr
		h.Iov = &st.iovs[i]
		h.SetIovlen(1)
		st.count[i] = 1
	}
	st.n = n

	// Nobody reads yet: the socket takes some and then refuses.
	var done bool
	if err := rc.Control(func(fd uintptr) { done = st.sendmmsg(fd) }); err != nil {
		t.Fatal(err)
	}
	if done || st.sent == 0 || st.sent >= n || st.errno != 0 {
		t.Fatalf("unread: sendmmsg reports done %v after %d of %d (errno %v); want a partial send waiting for room", done, st.sent, n, st.errno)
	}
	t.Logf("the socket took %d of %d datagrams before EAGAIN", st.sent, n)

	// Now a reader drains it while the flush waits for room.
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 2000)
		_ = recv.SetReadDeadline(time.Now().Add(30 * time.Second))
		for i := 0; i < n; i++ {
			k, err := recv.Read(buf)
			if err != nil {
				got <- err
				return
			}
			if string(buf[:k]) != string(data[i]) {
				got <- fmt.Errorf("datagram %d read is #%d (%d bytes)", i, binary.BigEndian.Uint32(buf[3:]), k)
				return
			}
		}
		got <- nil
	}()
	if err := rc.Write(st.sendmmsg); err != nil {
		t.Fatal(err)
	}
	if st.sent != n || st.errno != 0 {
		t.Fatalf("sent %d of %d (errno %v)", st.sent, n, st.errno)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if st.calls < 2 {
		t.Errorf("%d system calls: the socket was never full", st.calls)
	}
}
