package sfu

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/pion/transport/v5/deadline"
	"github.com/pion/transport/v5/packetio"
)

// rtpBuffer is the queue of an SRTP read stream: the packets pion has
// decrypted for an SSRC and the SFU has not read yet. It replaces the
// packetio.Buffer pion would make, with the same semantics pion relies
// on (Read blocks until a packet, the close or the read deadline; queued
// packets stay readable after the close, io.EOF once drained; a packet
// too long for the reader's buffer is consumed with io.ErrShortBuffer;
// writes past the size limit fail with packetio.ErrFull and queue
// nothing), but it does not keep its peak.
//
// One difference: Size, and so the limit, counts the memory the queue
// holds (each packet's slot and its header in the ring), not the
// payload. With slots, 128 KB of 1-byte packets would otherwise hold
// 43,690 small slots, 25 MB; counted so, a bound on Size stays a bound
// on memory (maxUnclaimedRTPBytes, TestUnclaimedRTPStreamsHoldLittle,
// TestRTPBufferLimitBoundsMemoryForTinyPackets).
//
// packetio.Buffer is one ring of bytes that doubles until the backlog
// fits and never shrinks: a published layer's buffer grew to the largest
// backlog it ever had (a join's key frames, read while the SFU's layer
// goroutine was busy) and held it for the PeerConnection's life, 71–106
// KiB of a 500 kbit/s participant's memory (issue 16's heap profiles).
// Here each queued packet is held in a fixed slot (two sizes: audio's
// packets are small) taken from a pool every stream shares, and given back as it is read: a stream whose reader
// keeps up holds a slot or two, a backlog's slots go back to the pool
// when it is drained, and the pool lets the GC free what no stream uses.
// At steady state a packet costs a pool Get and Put, no allocation.
//
// The ring of slot headers also grows with the backlog (48 bytes a
// packet); once grown past rtpRingKeep it is halved after rtpRingCalm
// drains in a row whose backlog used at most a quarter of it, so a
// stream whose bursts keep coming keeps the ring they need (dropping it
// at every drain cost a reader on another goroutine 0.012 allocations a
// packet: review 5), and one whose burst is over gives it back.
type rtpBuffer struct {
	mu     sync.Mutex
	ring   []rtpSlot // queued packets, ring[head] the oldest
	head   int
	count  int
	size   int // memory held by the queued packets: rtpCost each
	limit  int // Size limit; 0: rtpBufferMaxSize
	closed bool
	peak   int // the most packets queued since the ring was last drained
	calm   int // drains in a row whose peak used at most a quarter of the ring

	notify   chan struct{} // a packet was queued (capacity 1); closed by Close
	deadline *deadline.Deadline
}

// rtpSlot is one queued packet: data is a pooled slot's first n bytes
// (cap rtpSmallSlotSize or rtpSlotSize), or a slice of its own for a
// longer packet.
type rtpSlot struct {
	data  []byte
	attrs packetio.Attributes
}

const (
	// rtpSlotSize holds any RTP packet that came in one UDP datagram
	// on an Ethernet path (1472 bytes at most, less after decryption);
	// it is also a size class of Go's allocator, so no byte is wasted.
	// A longer packet (possible over ICE-TCP) gets a slice of its own.
	rtpSlotSize = 1536
	// rtpSmallSlotSize holds an audio packet (Opus at up to 128 kbit/s
	// in 20 ms frames, with RTP's header and extensions).
	rtpSmallSlotSize = 512
	// rtpRingKeep is how many slot headers a ring keeps however calm
	// its stream (a few packets of ordinary jitter); rtpRingCalm is how
	// many calm drains halve a larger one (at 50 packets a second, about
	// 5 s after a burst).
	rtpRingKeep = 16
	rtpRingCalm = 256
	// rtpBufferMaxSize is the bound when no limit is set: packetio's.
	rtpBufferMaxSize = 4 << 20
)

var (
	rtpSlots      = sync.Pool{New: func() any { return new([rtpSlotSize]byte) }}
	rtpSmallSlots = sync.Pool{New: func() any { return new([rtpSmallSlotSize]byte) }}
)

// rtpCost is what a queued packet of n bytes holds: its slot (or its own
// slice) and its header in the ring.
func rtpCost(n int) int {
	const header = int(unsafe.Sizeof(rtpSlot{}))
	switch {
	case n <= rtpSmallSlotSize:
		return rtpSmallSlotSize + header
	case n <= rtpSlotSize:
		return rtpSlotSize + header
	}
	return n + header
}

// errRTPPacketTooBig: packetio.Buffer's bound on one packet.
var errRTPPacketTooBig = errors.New("sfu: RTP packet too big for the read buffer")

// rtpTimeout is the error of a read past its deadline; like packetio's
// it is a net.Error that is packetio.ErrTimeout (and, as pion's streams'
// own, os.ErrDeadlineExceeded). One value: no allocation a timeout.
type rtpTimeoutError struct{}

func (rtpTimeoutError) Error() string   { return "i/o timeout" }
func (rtpTimeoutError) Timeout() bool   { return true }
func (rtpTimeoutError) Temporary() bool { return true }
func (rtpTimeoutError) Is(target error) bool {
	return target == packetio.ErrTimeout || target == os.ErrDeadlineExceeded
}

var errRTPTimeout error = rtpTimeoutError{}

func newRTPBuffer() *rtpBuffer {
	return &rtpBuffer{notify: make(chan struct{}, 1), deadline: deadline.New()}
}

// Write queues a copy of the packet and its attributes (shallow-copied,
// as packetio does). It returns packetio.ErrFull past the size limit and
// io.ErrClosedPipe once closed; a failed write queues nothing.
func (b *rtpBuffer) Write(p []byte, attrs packetio.Attributes) (int, error) {
	if len(p) >= 0x10000 {
		return 0, errRTPPacketTooBig
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, io.ErrClosedPipe
	}
	limit := b.limit
	if limit <= 0 || limit >= rtpBufferMaxSize {
		limit = rtpBufferMaxSize - 1
	}
	cost := rtpCost(len(p))
	if cost > limit-b.size {
		return 0, packetio.ErrFull
	}
	if b.count == len(b.ring) {
		b.growRing()
	}
	var data []byte
	switch {
	case len(p) <= rtpSmallSlotSize:
		data = rtpSmallSlots.Get().(*[rtpSmallSlotSize]byte)[:len(p)]
	case len(p) <= rtpSlotSize:
		data = rtpSlots.Get().(*[rtpSlotSize]byte)[:len(p)]
	default:
		data = make([]byte, len(p))
	}
	copy(data, p)
	i := b.head + b.count
	if i >= len(b.ring) {
		i -= len(b.ring)
	}
	s := &b.ring[i]
	s.data = data
	s.attrs = append(s.attrs[:0], attrs...)
	b.count++
	b.peak = max(b.peak, b.count)
	b.size += cost
	select {
	case b.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

// growRing doubles the ring (8 headers at first). b.mu is held and the
// ring is full.
func (b *rtpBuffer) growRing() {
	ring := make([]rtpSlot, max(8, 2*len(b.ring)))
	n := copy(ring, b.ring[b.head:])
	copy(ring[n:], b.ring[:b.head])
	b.ring = ring
	b.head = 0
}

// Read takes the oldest packet into p and returns its attributes in
// attrs' storage. It blocks until there is one, the buffer is closed and
// drained (io.EOF) or the read deadline passes.
func (b *rtpBuffer) Read(p []byte, attrs packetio.Attributes) (int, packetio.Attributes, error) {
	clear(attrs)
	select {
	case <-b.deadline.Done():
		return 0, nil, errRTPTimeout
	default:
	}
	for {
		b.mu.Lock()
		if b.count > 0 {
			n, a, err := b.consume(p, attrs)
			b.mu.Unlock()
			return n, a, err
		}
		if b.closed {
			b.mu.Unlock()
			return 0, nil, io.EOF
		}
		b.mu.Unlock()
		select {
		case <-b.deadline.Done():
			return 0, nil, errRTPTimeout
		case <-b.notify:
		}
	}
}

// consume takes the oldest packet and gives its slot back. b.mu is held
// and count > 0.
func (b *rtpBuffer) consume(p []byte, attrs packetio.Attributes) (int, packetio.Attributes, error) {
	s := &b.ring[b.head]
	n := copy(p, s.data)
	full := len(s.data)
	attrs = append(attrs[:0], s.attrs...)
	// A packet's own slice is longer than rtpSlotSize: the capacity
	// tells the three apart.
	switch cap(s.data) {
	case rtpSmallSlotSize:
		rtpSmallSlots.Put((*[rtpSmallSlotSize]byte)(s.data[:rtpSmallSlotSize]))
	case rtpSlotSize:
		rtpSlots.Put((*[rtpSlotSize]byte)(s.data[:rtpSlotSize]))
	}
	s.data = nil
	clear(s.attrs)
	s.attrs = s.attrs[:0]
	b.head++
	if b.head == len(b.ring) {
		b.head = 0
	}
	b.count--
	b.size -= rtpCost(full)
	if b.count == 0 {
		b.head = 0
		b.drained()
	} else if !b.closed {
		// Another packet is queued: the next Read must not wait for a
		// notification this one took.
		select {
		case b.notify <- struct{}{}:
		default:
		}
	}
	if n < full {
		return n, attrs, io.ErrShortBuffer
	}
	return n, attrs, nil
}

// drained halves a ring grown past rtpRingKeep once rtpRingCalm drains
// in a row used at most a quarter of it. b.mu is held and the ring is
// empty.
func (b *rtpBuffer) drained() {
	if len(b.ring) <= rtpRingKeep {
		b.peak = 0
		return
	}
	if b.peak <= len(b.ring)/4 {
		b.calm++
	} else {
		b.calm = 0
	}
	b.peak = 0
	if b.calm >= rtpRingCalm {
		b.ring = make([]rtpSlot, len(b.ring)/2)
		b.calm = 0
	}
}

// Close wakes any read; queued packets stay readable.
func (b *rtpBuffer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.notify)
	}
	return nil
}

// Size is the memory the queued packets hold (rtpCost each).
func (b *rtpBuffer) Size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.size
}

// SetLimitSize bounds Size; 0 or less means packetio's default, 4 MiB.
func (b *rtpBuffer) SetLimitSize(limit int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.limit = limit
}

// SetReadDeadline sets the deadline of reads, pending ones included;
// zero means none.
func (b *rtpBuffer) SetReadDeadline(t time.Time) error {
	b.deadline.Set(t)
	return nil
}
