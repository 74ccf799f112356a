package sfu

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ICE-TCP connections and a peer that stops reading.
//
// What the SFU writes to an ICE-TCP connection it writes while a
// publisher's frame goes to every subscriber (UpTrack.send). A plain
// net.Conn write blocks when the kernel's send buffer is full, as it is
// once the peer stops reading (a hostile client, or one whose network went
// away without a reset), and would stall everyone else's copy of the
// frame. pion's own answer (webrtc.NewICETCPMux) is a 4 MiB queue per
// connection drained by a goroutine that writes with no deadline: it does
// not stall the fan-out, but it holds a connection that never drains, with
// its queue and the kernel's 4 MiB, for as long as the peer keeps its ICE
// checks coming, and gives a slow reader tens of seconds of media late
// rather than losing some, as UDP would.
//
// So the SFU wraps its ICE-TCP listener and builds pion's mux with no
// write queue of pion's. A write goes straight to the kernel without
// waiting (one system call, on the writer's goroutine, as before); what the
// kernel does not take waits in a queue of tcpQueueBytes per connection,
// allocated the first time one is needed and written by a goroutine of the
// connection's own; a frame that does not fit whole is dropped, as a full
// UDP socket drops it. A connection whose queue does not drain
// (tcpDrainChunk bytes not taken in tcpStallAfter) is reset and closed.
// On Linux the kernel keeps at most tcpNotSentLowat bytes unsent
// (TCP_NOTSENT_LOWAT) on top of what is in flight, so what a slow reader
// is behind by is bounded by the two, not by the kernel's autotuning.
//
// RFC 4571 framing: pion writes each packet as one frame (length and
// bytes) in one Write. A frame is queued or dropped whole; only the rest
// of a frame the kernel took in part is queued unconditionally (it always
// fits: it is queued only when the queue is empty, and tcpQueueBytes is
// more than the largest frame), so the byte stream never carries half a
// frame followed by another.

const (
	// tcpQueueBytes is the queue per ICE-TCP connection for what the
	// kernel would not take: about 1 s of a 2 Mbit/s subscriber, enough
	// for a key frame's burst; more is only later media.
	tcpQueueBytes = 256 << 10
	// tcpNotSentLowat bounds what the kernel holds unsent (Linux).
	tcpNotSentLowat = 64 << 10
	// tcpStallAfter: a connection that takes no tcpDrainChunk bytes
	// (or what is queued, if less) in this time is reset.
	tcpStallAfter = 5 * time.Second
	tcpDrainChunk = 64 << 10
	// tcpMaxUnanswered bounds the connections accepted and never written
	// to (see tcpListener).
	tcpMaxUnanswered = 4096
)

// tcpListener is the SFU's ICE-TCP listener as pion's mux sees it: its
// connections never block a writer. It counts what they drop and reset.
//
// It also bounds the connections nobody has answered. Anyone on the
// network can connect to the ICE-TCP port, with no credential, and pion
// keeps each connection (a file descriptor, a goroutine, buffers) until
// its first ICE check arrives, or 30 s, and 30 s more for a check naming
// no peer: unbounded, a flood of idle connections would take every file
// descriptor the process has, and with them new participants' media
// sockets and the HTTP server's accepts. pion writes to a connection
// only once a check on it has passed its peer's credentials (the
// binding response), so a connection never written to is unanswered;
// when more than maxUnanswered are open the oldest is closed. A
// browser's connection is answered within a round trip of connecting,
// so only a flood faster than maxUnanswered per round trip could close
// one of those.
type tcpListener struct {
	*net.TCPListener
	log *slog.Logger

	dropped  atomic.Uint64 // frames dropped because a queue was full
	stalls   atomic.Uint64 // connections reset because they did not drain
	unheard  atomic.Uint64 // unanswered connections closed for newer ones
	reported atomic.Uint64 // unheard when last logged

	mu    sync.Mutex
	conns map[*tcpConn]struct{}
	// The unanswered connections, oldest first (tcpConn.prev, next),
	// and how many; at most maxUnanswered (tcpMaxUnanswered; tests
	// lower it).
	oldest, newest *tcpConn
	unanswered     int
	maxUnanswered  int
}

func newTCPListener(ln *net.TCPListener, log *slog.Logger) *tcpListener {
	return &tcpListener{TCPListener: ln, log: log, conns: make(map[*tcpConn]struct{}), maxUnanswered: tcpMaxUnanswered}
}

// unlinkLocked takes c off the unanswered list, if it is on it. Called
// with l.mu held.
func (l *tcpListener) unlinkLocked(c *tcpConn) {
	if !c.waiting {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.oldest = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.newest = c.prev
	}
	c.prev, c.next, c.waiting = nil, nil, false
	l.unanswered--
}

// answered notes that the SFU wrote to c: it is no longer unanswered.
func (l *tcpListener) answered(c *tcpConn) {
	l.mu.Lock()
	l.unlinkLocked(c)
	l.mu.Unlock()
}

// Accept returns the next connection, wrapped. pion's mux stops accepting
// at the first error, so only the listener's own errors are returned; a
// connection that cannot be set up is closed and the next one taken.
func (l *tcpListener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			return nil, err
		}
		tc, err := newTCPConn(l, c)
		if err != nil {
			l.log.Warn("sfu: ICE-TCP connection refused", "remote", remoteKind(c), "err", err)
			_ = c.Close()
			continue
		}
		var evict *tcpConn
		var most int
		l.mu.Lock()
		l.conns[tc] = struct{}{}
		tc.prev, tc.waiting = l.newest, true
		if l.newest != nil {
			l.newest.next = tc
		} else {
			l.oldest = tc
		}
		l.newest = tc
		l.unanswered++
		if most = l.maxUnanswered; l.unanswered > most {
			evict = l.oldest
			l.unlinkLocked(evict)
		}
		l.mu.Unlock()
		if evict != nil {
			l.evicted(evict, most)
		}
		return tc, nil
	}
}

// evicted closes c, the oldest unanswered connection, for a newer one.
// Said at the first and at every tenfold: a flood logs a few lines.
func (l *tcpListener) evicted(c *tcpConn, most int) {
	n := l.unheard.Add(1)
	if last := l.reported.Load(); (last == 0 || n >= 10*last) && l.reported.CompareAndSwap(last, n) {
		l.log.Warn("sfu: ICE-TCP connections that sent no ICE check closed for newer ones: someone is opening many (a flood?)",
			"closed", n, "unanswered_at_most", most)
	}
	_ = c.SetLinger(0)
	_ = c.Close()
}

// open reports the connections accepted and not yet closed.
func (l *tcpListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// tcpConn is an accepted ICE-TCP connection whose writes never wait for
// the peer. Reads, addresses and deadlines are the TCPConn's.
type tcpConn struct {
	*net.TCPConn
	l  *tcpListener
	rc syscall.RawConn
	// send is sendOnce bound once, so that a write allocates nothing.
	send func(fd uintptr) bool
	// wake tells drain that the queue has gone from empty to not; done
	// is closed by Close, and stops drain.
	wake chan struct{}
	done chan struct{}
	once sync.Once

	mu sync.Mutex
	// out, sent and sendErr are sendOnce's argument and results.
	out     []byte
	sent    int
	sendErr error
	// q holds n bytes from head (wrapping), for drain to write; nil
	// until first needed, when drain starts.
	q       []byte
	head, n int
	dropped uint64
	closed  bool

	// answer is set at the first write (see tcpListener); prev, next
	// and waiting (on the unanswered list) are guarded by l.mu.
	answer     atomic.Bool
	prev, next *tcpConn
	waiting    bool
}

func newTCPConn(l *tcpListener, c *net.TCPConn) (*tcpConn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	tc := &tcpConn{TCPConn: c, l: l, rc: rc, wake: make(chan struct{}, 1), done: make(chan struct{})}
	tc.send = tc.sendOnce
	if err := limitUnsent(rc); err != nil {
		// Only the latency bound is lost; the queue's still holds.
		l.log.Debug("sfu: ICE-TCP: no TCP_NOTSENT_LOWAT", "err", err)
	}
	return tc, nil
}

// Write sends one RFC 4571 frame (pion writes a frame per call). It never
// waits for the peer: what the kernel does not take at once is queued, or
// dropped whole if the queue has no room for it. Safe for concurrent use.
func (c *tcpConn) Write(b []byte) (int, error) {
	if !c.answer.Load() && c.answer.CompareAndSwap(false, true) {
		c.l.answered(c)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	all := len(b)
	if c.n == 0 {
		n, err := c.tryWrite(b)
		if err != nil {
			return 0, err
		}
		if n == len(b) {
			return all, nil
		}
		// The rest of a frame the kernel took in part must follow it:
		// it fits, the queue being empty.
		b = b[n:]
	} else if len(b) > len(c.q)-c.n {
		c.dropped++
		c.l.dropped.Add(1)
		return all, nil
	}
	c.enqueue(b)
	return all, nil
}

// tryWrite writes what the kernel takes of b now. Called with c.mu held.
func (c *tcpConn) tryWrite(b []byte) (int, error) {
	if !rawWrites {
		return 0, nil
	}
	c.out = b
	err := c.rc.Write(c.send)
	c.out = nil
	if err != nil {
		return 0, err
	}
	return c.sent, c.sendErr
}

// enqueue appends b to the queue, which has room for it, starting drain
// the first time. Called with c.mu held.
func (c *tcpConn) enqueue(b []byte) {
	if c.q == nil {
		c.q = make([]byte, tcpQueueBytes)
		go c.drain()
	}
	wasEmpty := c.n == 0
	tail := (c.head + c.n) % len(c.q)
	k := copy(c.q[tail:], b)
	copy(c.q, b[k:])
	c.n += len(b)
	if wasEmpty {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// drain writes the queue to the connection, waiting for the peer as a
// plain write does, but no longer than tcpStallAfter for each chunk: a
// connection that does not drain is reset. It runs from the first queued
// byte until Close.
func (c *tcpConn) drain() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		for {
			c.mu.Lock()
			if c.closed || c.n == 0 {
				c.mu.Unlock()
				break
			}
			// drain reads the queue's front while Write appends
			// behind it: the two never touch the same bytes.
			end := min(c.head+c.n, len(c.q), c.head+tcpDrainChunk)
			chunk := c.q[c.head:end]
			c.mu.Unlock()

			_ = c.TCPConn.SetWriteDeadline(time.Now().Add(tcpStallAfter))
			k, err := c.TCPConn.Write(chunk)
			// A deadline left behind would fail Write's next raw write.
			_ = c.TCPConn.SetWriteDeadline(time.Time{})

			c.mu.Lock()
			c.head = (c.head + k) % len(c.q)
			c.n -= k
			queued := c.n
			c.mu.Unlock()
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					c.stalled(queued)
				} else {
					_ = c.Close()
				}
				return
			}
		}
	}
}

// stalled resets a connection whose peer stopped reading. A reset, not a
// close: the kernel drops what it holds for the peer at once instead of
// probing a closed window for minutes.
func (c *tcpConn) stalled(queued int) {
	c.l.stalls.Add(1)
	c.l.log.Warn("sfu: reset an ICE-TCP connection whose peer stopped reading",
		"remote", remoteKind(c.TCPConn), "after", tcpStallAfter, "queued", queued)
	_ = c.SetLinger(0)
	_ = c.Close()
}

// remoteKind is what kind of address c's peer has, for logs: never the
// address, which is a participant's (destKind).
func remoteKind(c *net.TCPConn) string {
	a, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return "unknown"
	}
	return destKind(a.AddrPort())
}

// Close closes the connection and stops its drain.
func (c *tcpConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		dropped := c.dropped
		c.mu.Unlock()
		close(c.done)
		err = c.TCPConn.Close()
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.unlinkLocked(c)
		c.l.mu.Unlock()
		if dropped > 0 {
			c.l.log.Info("sfu: an ICE-TCP connection's peer read too slowly: packets dropped",
				"remote", remoteKind(c.TCPConn), "packets", dropped)
		}
	})
	return err
}
