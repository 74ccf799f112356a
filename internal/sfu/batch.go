package sfu

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/transport/v5"
)

// SendMode is how the SFU hands forwarded media to the kernel (issue 16:
// one system call for many packets).
type SendMode int

const (
	// SendAuto batches forwarded packets, each batch in one sendmmsg per
	// socket, and joins a subscriber's packets of equal size into one UDP
	// GSO message (UDP_SEGMENT) when the kernel takes it (checked at
	// start), else sendmmsg alone.
	SendAuto SendMode = iota
	// SendMMsg batches with sendmmsg but never uses GSO.
	SendMMsg
	// SendPlain sends every packet with its own system call, as pion
	// does unwrapped: the sockets are handed to pion as they are.
	SendPlain
)

func (m SendMode) String() string {
	switch m {
	case SendAuto:
		return "GSO + sendmmsg"
	case SendMMsg:
		return "sendmmsg"
	case SendPlain:
		return "one sendto per packet"
	}
	return fmt.Sprintf("SendMode(%d)", int(m))
}

// The batch queue's bounds. It is shared by every socket of the SFU, so
// its memory does not grow with subscribers: 512 KiB of datagrams (about
// 400 full video packets, two frames to 25 subscribers at 1.5 Mbit/s),
// at most queueDatagrams of them. Any UDP datagram fits an empty queue.
const (
	queueBytes     = 512 << 10
	queueDatagrams = 1024
	// gsoMaxSegments and gsoMaxBytes bound one GSO message: the kernel
	// takes at most 64 segments (UDP_MAX_SEGMENTS before Linux 6.9) and
	// one UDP datagram's worth of payload.
	gsoMaxSegments = 64
	gsoMaxBytes    = 65000
	// gsoMaxSegment is the largest segment joined: a segment and its
	// headers must fit the path's MTU, or the kernel refuses the whole
	// message; a larger datagram goes alone, to be fragmented as a plain
	// send would be.
	gsoMaxSegment = 1400
)

// batcher queues the SFU's outgoing datagrams while a batch scope is open
// (UpTrack.send fanning a frame out to its subscribers) and sends them
// when any scope closes or the queue fills: each socket's
// share in one sendmmsg, a subscriber's equal-sized packets in a row as
// one GSO message. Outside a scope a datagram is sent at once (RTCP,
// DTLS, ICE keep their timing). Every queued datagram is sent by the
// close of a scope that was open when it was queued, in the order
// queued.
//
// A nil *batcher is the plain path: scopes do nothing.
type batcher struct {
	mode SendMode // SendAuto or SendMMsg: chosen at start
	log  *slog.Logger

	// scopes mirrors open for the writers' lock-free check; open is
	// changed only under mu, and a datagram is queued only under mu with
	// open > 0, so none is left behind by a scope closing meanwhile.
	scopes atomic.Int32

	mu   sync.Mutex
	open int
	q    queue
	out  sendState // the flush's system call arguments, under mu

	// refuseGSO makes every GSO message fail as a kernel without it
	// would (EIO), for tests of the fallback.
	refuseGSO bool

	sent     atomic.Uint64 // datagrams the kernel took from batches
	syscalls atomic.Uint64 // system calls made flushing batches
	failed   atomic.Uint64 // datagrams a flush could not send (refused by the kernel, or the socket closed)
	gsoOff   atomic.Bool   // GSO was refused on a socket and turned off (logged once)
	plainOff atomic.Bool   // sendmmsg was refused on a socket (logged once)
}

// queue is the datagrams waiting, in one arena, each socket's linked in
// order.
type queue struct {
	arena   []byte
	used    int
	entries []queued
	runs    []run // the sockets with datagrams queued, in first-queued order
	gen     uint64
}

type queued struct {
	c    *batchConn
	dst  netip.AddrPort
	off  int32
	n    int32
	next int32 // the socket's next datagram, -1 if none
}

// run is one socket's datagrams in the queue: entries first, ..., last.
type run struct {
	c           *batchConn
	first, last int32
}

func newBatcher(mode SendMode, log *slog.Logger) *batcher {
	b := &batcher{mode: mode, log: log}
	b.q.arena = make([]byte, queueBytes)
	b.q.entries = make([]queued, 0, queueDatagrams)
	b.q.runs = make([]run, 0, queueDatagrams)
	b.q.gen = 1
	b.out.init()
	return b
}

// begin opens a batch scope: until the matching end, the SFU's datagrams
// are queued.
func (b *batcher) begin() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.open++
	b.scopes.Store(int32(b.open))
	b.mu.Unlock()
}

// end closes a scope and sends everything queued.
func (b *batcher) end() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.open--
	b.scopes.Store(int32(b.open))
	if len(b.q.entries) > 0 {
		b.flushLocked()
	}
	b.mu.Unlock()
}

// enqueue copies p for dst into the queue, or reports false when no
// scope is open (the caller sends it itself).
func (b *batcher) enqueue(c *batchConn, p []byte, dst netip.AddrPort) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == 0 {
		return false
	}
	b.roomLocked(len(p))
	copy(b.q.arena[b.q.used:], p)
	b.appendLocked(c, dst, len(p))
	return true
}

// reserve locks the queue and returns room in its arena for one datagram
// of at most size bytes (at most queueBytes), for the caller to write in
// place and hand to commit, or to give up with cancel; nothing else may
// be called in between. Outside a batch scope it opens one of its own
// (opened), which commit closes, sending the datagram at once.
func (b *batcher) reserve(size int) (room []byte, opened bool) {
	b.mu.Lock()
	if b.open == 0 {
		b.open++
		b.scopes.Store(int32(b.open))
		opened = true
	}
	// Room from a cache line's start: the packet is encrypted there in
	// place, and AES-GCM over an unaligned buffer is slower.
	b.roomLocked(size + 63)
	b.q.used = (b.q.used + 63) &^ 63
	return b.q.arena[b.q.used : b.q.used+size : b.q.used+size], opened
}

// commit queues the first n bytes of the room reserve gave as a datagram
// from c to dst (which c.queueable must allow), and unlocks the queue.
func (b *batcher) commit(c *batchConn, dst netip.AddrPort, n int, opened bool) {
	b.appendLocked(c, dst, n)
	b.releaseLocked(opened)
}

// cancel gives up the room reserve gave and unlocks the queue.
func (b *batcher) cancel(opened bool) { b.releaseLocked(opened) }

func (b *batcher) releaseLocked(opened bool) {
	if opened {
		b.open--
		b.scopes.Store(int32(b.open))
		if b.open == 0 && len(b.q.entries) > 0 {
			b.flushLocked()
		}
	}
	b.mu.Unlock()
}

// roomLocked makes room for one more datagram of size bytes, sending the
// queue if it is full.
func (b *batcher) roomLocked(size int) {
	q := &b.q
	if len(q.entries) == cap(q.entries) || len(q.arena)-q.used < size {
		b.flushLocked()
	}
}

// appendLocked queues the n bytes at the arena's end as a datagram from
// c to dst.
func (b *batcher) appendLocked(c *batchConn, dst netip.AddrPort, n int) {
	q := &b.q
	i := int32(len(q.entries))
	q.entries = append(q.entries, queued{c: c, dst: dst, off: int32(q.used), n: int32(n), next: -1})
	q.used += n
	if c.gen != q.gen {
		c.gen, c.run = q.gen, int32(len(q.runs))
		q.runs = append(q.runs, run{c: c, first: i, last: i})
	} else {
		r := &q.runs[c.run]
		q.entries[r.last].next = i
		r.last = i
	}
}

// flushLocked sends the queue, socket by socket, and empties it. Called
// with mu held.
func (b *batcher) flushLocked() {
	q := &b.q
	for i := range q.runs {
		b.sendRun(q.runs[i])
		q.runs[i] = run{}
	}
	for i := range q.entries {
		q.entries[i].c = nil
	}
	q.entries, q.runs, q.used = q.entries[:0], q.runs[:0], 0
	q.gen++
}

// data is a queued datagram's bytes.
func (q *queue) data(e *queued) []byte { return q.arena[e.off : e.off+e.n] }

// batchConn is a UDP socket of the SFU's as pion sees it: writes inside a
// batch scope are queued, every other call goes to the socket.
type batchConn struct {
	*net.UDPConn
	b *batcher

	// Guarded by b.mu.
	gen  uint64 // the queue generation run indexes
	run  int32
	gso  bool // messages may carry UDP_SEGMENT
	mmsg bool // batches go out with sendmmsg, else one sendto each
	v6   bool // an AF_INET6 socket: IPv4 destinations are mapped
	// warned: a refused destination was logged for this socket.
	warned bool

	sys sysConn // the OS-specific part
}

// wrap returns c as the SFU's batching socket, or c itself on the plain
// path.
func (b *batcher) wrap(c *net.UDPConn) transport.UDPConn {
	if b == nil {
		return c
	}
	bc := &batchConn{UDPConn: c, b: b, mmsg: true, gso: b.mode == SendAuto}
	if err := bc.sys.init(bc); err != nil {
		b.log.Warn("sfu: batching off for a socket", "local", c.LocalAddr().String(), "err", err)
		return c
	}
	return bc
}

// WriteToAddrPort queues p inside a batch scope and sends it otherwise.
// pion's ICE candidates and UDP mux write through it. Only RTP is queued:
// STUN, DTLS and RTCP written by other goroutines while a fan-out's scope
// is open go at once, as they would without batching. A destination the
// queue cannot name (an IPv6 zone, or IPv6 on an IPv4 socket, which the
// socket refuses anyway) is never queued.
func (c *batchConn) WriteToAddrPort(p []byte, dst netip.AddrPort) (int, error) {
	if c.b.scopes.Load() > 0 && isRTP(p) && c.queueable(dst.Addr()) && c.b.enqueue(c, p, dst) {
		return len(p), nil
	}
	return c.UDPConn.WriteToUDPAddrPort(p, dst)
}

// isRTP tells (S)RTP from what shares its socket (RFC 7983: a first byte
// of 128–191; RFC 5761: RTCP's packet types 192–223 in the second).
func isRTP(p []byte) bool {
	return len(p) >= 12 && p[0] >= 128 && p[0] <= 191 && (p[1] < 192 || p[1] > 223)
}

func (c *batchConn) queueable(a netip.Addr) bool {
	return a.Zone() == "" && (c.v6 || a.Unmap().Is4())
}

// WriteToUDPAddrPort is WriteToAddrPort.
func (c *batchConn) WriteToUDPAddrPort(p []byte, dst netip.AddrPort) (int, error) {
	return c.WriteToAddrPort(p, dst)
}

// WriteTo is WriteToAddrPort for a *net.UDPAddr; other addresses go to
// the socket.
func (c *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if u, ok := addr.(*net.UDPAddr); ok && u != nil && u.Zone == "" {
		return c.WriteToAddrPort(p, u.AddrPort())
	}
	return c.UDPConn.WriteTo(p, addr)
}

// WriteToUDP is WriteTo.
func (c *batchConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	return c.WriteTo(p, addr)
}

// ReadFromAddrPort reads a datagram; with WriteToAddrPort it lets pion
// read and write without allocating an address per packet.
func (c *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(p)
}

// benchmarking is RFC 2544's range, which test namespaces use
// (scripts/isolated.sh, internal/clustertest).
var benchmarking = netip.MustParsePrefix("198.18.0.0/15")

// destKind says what kind of address dst is, for logs: never the
// address, which is a participant's.
func destKind(dst netip.AddrPort) string {
	a := dst.Addr()
	fam := "IPv6"
	if a.Unmap().Is4() {
		fam, a = "IPv4", a.Unmap()
	}
	kind := "public"
	switch {
	case !a.IsValid():
		return "no address"
	case a.IsUnspecified():
		kind = "unspecified"
	case a.IsLoopback():
		kind = "loopback"
	case a.IsLinkLocalUnicast():
		kind = "link-local"
	case a.IsMulticast():
		kind = "multicast"
	case a.IsPrivate():
		kind = "private"
	case benchmarking.Contains(a):
		kind = "benchmarking-range"
	}
	if dst.Port() == 0 {
		kind += " port 0"
	}
	return kind + " " + fam
}

// batchStats are the batcher's counters (zero on the plain path).
func (b *batcher) stats() (sent, syscalls, failed uint64) {
	if b == nil {
		return 0, 0, 0
	}
	return b.sent.Load(), b.syscalls.Load(), b.failed.Load()
}
