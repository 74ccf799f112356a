package sfu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsgSpace is the room a UDP_SEGMENT control message takes.
var cmsgSpace = unix.CmsgSpace(2)

// sysConn is the Linux part of a batchConn: its raw socket and the
// function rc.Write calls, bound once so that a flush allocates nothing.
type sysConn struct {
	rc    syscall.RawConn
	write func(fd uintptr) bool
}

func (s *sysConn) init(c *batchConn) error {
	rc, err := c.UDPConn.SyscallConn()
	if err != nil {
		return err
	}
	var domain int
	var gsoErr, domErr error
	if err := rc.Control(func(fd uintptr) {
		domain, domErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
		_, gsoErr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	}); err != nil {
		return err
	}
	if domErr != nil {
		return domErr
	}
	c.v6 = domain == unix.AF_INET6
	if gsoErr != nil {
		c.gso = false // a kernel before 4.18
	}
	s.rc = rc
	out := &c.b.out
	s.write = out.sendmmsg
	return nil
}

// sendState is a flush's messages for one socket, the arguments of
// sendmmsg, preallocated for a full queue.
type sendState struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // big enough for either family
	cmsgs []byte
	first []int32 // each message's first queue entry
	count []int32 // each message's datagrams

	n, sent int        // messages built, sent
	calls   uint64     // system calls made
	errno   unix.Errno // why message sent failed, 0 if none did
	refuse  bool       // fail GSO messages as EIO (tests)
}

func (st *sendState) init() {
	st.hdrs = make([]unix.Mmsghdr, queueDatagrams)
	st.iovs = make([]unix.Iovec, queueDatagrams)
	st.names = make([]unix.RawSockaddrInet6, queueDatagrams)
	st.cmsgs = make([]byte, queueDatagrams*cmsgSpace)
	st.first = make([]int32, queueDatagrams)
	st.count = make([]int32, queueDatagrams)
	for m := 0; m < queueDatagrams; m++ {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&st.cmsgs[m*cmsgSpace]))
		h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
		h.SetLen(unix.CmsgLen(2))
	}
}

// sendmmsg sends the messages from sent on; it reports false to wait for
// the socket to take more (EAGAIN). Called by RawConn.Write.
func (st *sendState) sendmmsg(fd uintptr) bool {
	for st.sent < st.n {
		end := st.n
		if st.refuse {
			for end = st.sent; end < st.n && st.hdrs[end].Hdr.Controllen == 0; end++ {
			}
			if end == st.sent {
				st.errno = unix.EIO
				return true
			}
		}
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&st.hdrs[st.sent])), uintptr(end-st.sent), 0, 0, 0)
		st.calls++
		switch e {
		case 0:
			st.sent += int(n)
		case unix.EAGAIN:
			return false
		case unix.EINTR:
		default:
			st.errno = e
			return true
		}
	}
	return true
}

// build lays out the socket's queued datagrams from entry e on as
// messages: the first solo alone, then consecutive ones to one
// destination of one size (the last may be shorter) in one GSO message
// when the socket may, every other alone.
func (b *batcher) build(c *batchConn, e int32, solo int) {
	st, q := &b.out, &b.q
	st.n, st.sent, st.errno, st.calls = 0, 0, 0, 0
	st.refuse = b.refuseGSO
	iov := 0
	for e >= 0 {
		m := st.n
		ent := &q.entries[e]
		seg := ent.n
		st.first[m] = e
		start, cnt, total := iov, 0, 0
		for {
			d := q.data(ent)
			st.iovs[iov].Base = unsafe.SliceData(d)
			st.iovs[iov].SetLen(len(d))
			iov++
			cnt++
			total += len(d)
			e = ent.next
			if !c.gso || m < solo || seg > gsoMaxSegment || e < 0 || ent.n < seg {
				break
			}
			nx := &q.entries[e]
			if nx.dst != ent.dst || nx.n > seg || cnt == gsoMaxSegments || total+int(nx.n) > gsoMaxBytes {
				break
			}
			ent = nx
		}
		h := &st.hdrs[m].Hdr
		h.Iov = &st.iovs[start]
		h.SetIovlen(cnt)
		h.Name = (*byte)(unsafe.Pointer(&st.names[m]))
		h.Namelen = putSockaddr(&st.names[m], c.v6, ent.dst)
		if cnt > 1 {
			cm := st.cmsgs[m*cmsgSpace:]
			binary.NativeEndian.PutUint16(cm[unix.CmsgLen(0):], uint16(seg))
			h.Control = &cm[0]
			h.SetControllen(cmsgSpace)
		} else {
			h.Control = nil
			h.SetControllen(0)
		}
		st.hdrs[m].Len = 0
		st.count[m] = int32(cnt)
		st.n++
	}
}

// putSockaddr writes dst as the socket's family wants it (IPv4 mapped
// into IPv6 on an IPv6 socket) and returns its length.
func putSockaddr(sa *unix.RawSockaddrInet6, v6 bool, dst netip.AddrPort) uint32 {
	port := dst.Port()
	if !v6 {
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		s4.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:], port)
		s4.Addr = dst.Addr().Unmap().As4()
		return unix.SizeofSockaddrInet4
	}
	sa.Family = unix.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
	sa.Flowinfo, sa.Scope_id = 0, 0
	sa.Addr = dst.Addr().As16()
	return unix.SizeofSockaddrInet6
}

// sendRun sends one socket's queued datagrams: sendmmsg of its messages,
// and one sendto per datagram when the kernel has no sendmmsg. Called
// with mu held.
//
// When the kernel refuses a GSO message (EIO, EINVAL) that may be GSO's
// fault or its destination's: EINVAL is also what a socket bound to
// loopback gets for a destination routed off the host (an address that
// went away, a browser's candidate on an interface since removed), and
// a plain sendto fails the same. So the message's datagrams are sent
// again one by one, and the first of them tells: taken, GSO was at fault
// and the socket sends without it from then on; refused, the destination
// is, and each of its datagrams fails as pion's own sendto would (pion
// ignores a failed send but for a closed socket), is counted, and said
// once per socket with the errno and the destination's kind. GSO stays
// on for the socket's other destinations.
func (b *batcher) sendRun(r run) {
	c, st := r.c, &b.out
	e := r.first
	solo := 0             // datagrams from e on sent one per message (a refused GSO message's)
	probe := false        // the first of them tells GSO's fault from the destination's
	var gsoErr unix.Errno // why the GSO message was refused
	for e >= 0 {
		if !c.mmsg {
			b.sendPlain(c, e)
			return
		}
		b.build(c, e, solo)
		err := c.sys.rc.Write(c.sys.write)
		b.syscalls.Add(st.calls)
		var sent uint64
		for m := 0; m < st.sent; m++ {
			sent += uint64(st.count[m])
		}
		b.sent.Add(sent)
		if err != nil { // the socket is closed
			var left uint64
			for m := st.sent; m < st.n; m++ {
				left += uint64(st.count[m])
			}
			b.failed.Add(left)
			return
		}
		if probe {
			probe = false
			if st.sent > 0 {
				// Alone, the kernel took what it refused as GSO.
				c.gso = false
				if b.gsoOff.CompareAndSwap(false, true) {
					b.log.Warn("sfu: the kernel refused a UDP GSO send that it takes unsegmented; that socket sends without GSO",
						"local", c.LocalAddr().String(), "destination", destKind(b.q.entries[st.first[0]].dst),
						"errno", errnoName(gsoErr), "err", gsoErr)
				}
			}
		}
		if st.errno == 0 {
			return
		}
		m := st.sent
		switch {
		case (st.errno == unix.EIO || st.errno == unix.EINVAL) && st.hdrs[m].Hdr.Controllen > 0:
			gsoErr = st.errno
			solo, probe = int(st.count[m]), true
			e = st.first[m] // again, a datagram at a time
		case st.errno == unix.ENOSYS:
			c.mmsg = false
			if b.plainOff.CompareAndSwap(false, true) {
				b.log.Warn("sfu: no sendmmsg; that socket sends a packet at a time", "local", c.LocalAddr().String(), "err", st.errno)
			}
			solo = max(0, solo-m)
			e = st.first[m]
		default:
			// The kernel refuses this destination: as pion's sendto
			// would have been, each of these datagrams is lost.
			b.failed.Add(uint64(st.count[m]))
			b.refused(c, st.errno, b.q.entries[st.first[m]].dst)
			solo = max(0, solo-m-1)
			e = -1
			if m+1 < st.n {
				e = st.first[m+1]
			}
		}
	}
}

// refused says, once per socket, that the kernel refused a datagram
// from c to dst (the caller counts it in failed).
func (b *batcher) refused(c *batchConn, errno unix.Errno, dst netip.AddrPort) {
	if c.warned {
		return
	}
	c.warned = true
	b.log.Warn("sfu: the kernel refused batched datagrams to a destination; they are lost, as a plain send's would be",
		"local", c.LocalAddr().String(), "destination", destKind(dst), "errno", errnoName(errno), "err", errno)
}

// errnoName is errno's symbolic name (EINVAL), or its number.
func errnoName(e unix.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return fmt.Sprintf("errno %d", int(e))
}

// sendPlain sends the socket's datagrams from entry e on, one system call
// each.
func (b *batcher) sendPlain(c *batchConn, e int32) {
	q := &b.q
	for ; e >= 0; e = q.entries[e].next {
		ent := &q.entries[e]
		b.syscalls.Add(1)
		if _, err := c.UDPConn.WriteToUDPAddrPort(q.data(ent), ent.dst); err != nil {
			b.failed.Add(1)
			if errno := unix.Errno(0); errors.As(err, &errno) {
				b.refused(c, errno, ent.dst)
			}
		} else {
			b.sent.Add(1)
		}
	}
}

// probeSend chooses how the SFU sends, once at start: it sends two
// datagrams of equal size to itself on loopback through a batcher of the
// mode asked for and sees what the kernel took. Without a loopback
// interface it trusts the socket option's presence.
func probeSend(mode SendMode, log *slog.Logger) (SendMode, string) {
	if mode == SendPlain {
		return mode, "configured"
	}
	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return mode, "not probed: " + err.Error()
	}
	defer recv.Close()
	send, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return mode, "not probed: " + err.Error()
	}
	defer send.Close()
	b := newBatcher(mode, log)
	w, ok := b.wrap(send).(*batchConn)
	if !ok {
		return SendPlain, "the socket cannot be batched"
	}
	gsoBefore := w.gso
	dst := recv.LocalAddr().(*net.UDPAddr).AddrPort()
	// Two RTP-looking datagrams (only RTP is batched).
	a, z := bytes.Repeat([]byte{'a'}, 100), bytes.Repeat([]byte{'z'}, 100)
	a[0], a[1], z[0], z[1] = 0x80, 96, 0x80, 96
	b.begin()
	_, _ = w.WriteToAddrPort(a, dst)
	_, _ = w.WriteToAddrPort(z, dst)
	b.end()
	_ = recv.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 300)
	for _, want := range [][]byte{a, z} {
		n, err := recv.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			return SendPlain, fmt.Sprintf("a batch did not arrive intact (%v)", errors.Join(err))
		}
	}
	switch {
	case b.sent.Load() != 2:
		return SendPlain, fmt.Sprintf("the batch sent %d of 2 datagrams", b.sent.Load())
	case !w.mmsg:
		return SendPlain, "the kernel has no sendmmsg"
	case mode == SendAuto && !w.gso && gsoBefore:
		return SendMMsg, "the kernel refused UDP GSO"
	case mode == SendAuto && !w.gso:
		return SendMMsg, "the kernel has no UDP GSO"
	}
	return mode, "probed"
}
