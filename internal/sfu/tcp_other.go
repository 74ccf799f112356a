//go:build !linux

package sfu

import "syscall"

// rawWrites: elsewhere than on Linux a tcpConn queues every write for its
// drain goroutine (a hand-off per packet, but never a wait).
const rawWrites = false

func (c *tcpConn) sendOnce(uintptr) bool { return true }

func limitUnsent(syscall.RawConn) error { return nil }
