package sfu

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawWrites: a tcpConn writes to the kernel without waiting, on the
// writer's goroutine.
const rawWrites = true

// sendOnce is RawConn.Write's function: one non-blocking write, done
// whatever the kernel took (a full buffer is not waited for).
func (c *tcpConn) sendOnce(fd uintptr) bool {
	n, err := unix.Write(int(fd), c.out)
	if n < 0 {
		n = 0
	}
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		err = nil
	}
	if err != nil {
		err = os.NewSyscallError("write", err)
	}
	c.sent, c.sendErr = n, err
	return true
}

// limitUnsent has the kernel take no more than tcpNotSentLowat bytes it
// has not yet sent (what is in flight is not counted, so a fast path
// keeps its window): a slow reader's backlog is then mostly the SFU's own
// bounded queue, not seconds of media in an autotuned send buffer.
func limitUnsent(rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, tcpNotSentLowat)
	}); err != nil {
		return err
	}
	return serr
}
