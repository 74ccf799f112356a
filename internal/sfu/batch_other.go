//go:build !linux

package sfu

import (
	"errors"
	"log/slog"
)

// Batching needs Linux's sendmmsg; elsewhere the SFU sends a packet at a
// time, as pion does.

type sysConn struct{}

func (*sysConn) init(*batchConn) error { return errors.New("batched sends need Linux") }

type sendState struct{}

func (*sendState) init() {}

func (b *batcher) sendRun(r run) { b.sendPlainRun(r) }

// sendPlainRun sends a socket's datagrams one system call each.
func (b *batcher) sendPlainRun(r run) {
	q := &b.q
	for e := r.first; e >= 0; e = q.entries[e].next {
		ent := &q.entries[e]
		b.syscalls.Add(1)
		if _, err := r.c.UDPConn.WriteToUDPAddrPort(q.data(ent), ent.dst); err != nil {
			b.failed.Add(1)
		} else {
			b.sent.Add(1)
		}
	}
}

func probeSend(SendMode, *slog.Logger) (SendMode, string) {
	return SendPlain, "batched sends need Linux"
}
