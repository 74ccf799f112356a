package sfu

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/pion/transport/v5/packetio"
)

// rtpQueue is what the SRTP read stream's buffer must do, so the tests
// can run against pion's packetio.Buffer too (newTestQueue).
type rtpQueue interface {
	Write([]byte, packetio.Attributes) (int, error)
	Read([]byte, packetio.Attributes) (int, packetio.Attributes, error)
	Size() int
	SetLimitSize(int)
	SetReadDeadline(time.Time) error
	Close() error
}

// newTestQueue makes the buffer under test. Pointing it at
// packetio.NewBuffer shows what TestRTPBufferKeepsNoPeak catches: about
// 131 KiB kept a buffer. (The size and limit cases then fail too: this
// buffer counts memory held, not payload.)
var newTestQueue = func() rtpQueue { return newRTPBuffer() }

// A read stream's buffer must not keep the peak of its backlog: a join's
// key frames queued once, then read, must leave little behind. 64
// buffers each take a 100 KB backlog and drain it; what is live after a
// collection is what they keep: the ring of the backlog's 84 headers
// (128 × 48 bytes, 6 KiB, until calm drains halve it), no slots.
func TestRTPBufferKeepsNoPeak(t *testing.T) {
	const bufs, pkts = 64, 84 // 84 × 1200 bytes ≈ 100 KB a buffer
	pkt := make([]byte, 1200)
	out := make([]byte, 1500)
	live := func() uint64 {
		runtime.GC()
		runtime.GC() // the second empties sync.Pools' victim caches
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	qs := make([]rtpQueue, bufs)
	for i := range qs {
		qs[i] = newTestQueue()
		qs[i].SetLimitSize(1000 * 1000)
	}
	before := live()
	for _, q := range qs {
		for range pkts {
			if _, err := q.Write(pkt, nil); err != nil {
				t.Fatal(err)
			}
		}
		for range pkts {
			if n, _, err := q.Read(out, nil); err != nil || n != len(pkt) {
				t.Fatalf("read %d, %v", n, err)
			}
		}
	}
	after := live()
	kept := int64(after) - int64(before)
	t.Logf("kept after a drained 100 KB backlog: %d bytes a buffer", kept/bufs)
	if kept/bufs > 8<<10 {
		t.Fatalf("a drained buffer keeps %d bytes; want under 8 KiB", kept/bufs)
	}
	runtime.KeepAlive(qs)
}

// At steady state (a packet in, read out) a packet costs no allocation.
func TestRTPBufferSteadyStateAllocatesNothing(t *testing.T) {
	q := newTestQueue()
	pkt := make([]byte, 1200)
	out := make([]byte, 1500)
	var attrs packetio.Attributes
	// warm the pool and the ring
	_, _ = q.Write(pkt, nil)
	_, attrs, _ = q.Read(out, attrs)
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = q.Write(pkt, nil)
		_, _ = q.Write(pkt, nil)
		_, attrs, _ = q.Read(out, attrs)
		_, attrs, _ = q.Read(out, attrs)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations a write-read pair; want 0", allocs)
	}
}

// The semantics pion's SRTP read stream relies on.
func TestRTPBufferSemantics(t *testing.T) {
	t.Run("order, attributes, sizes", func(t *testing.T) {
		q := newTestQueue()
		big := bytes.Repeat([]byte{7}, 3000) // longer than a slot (ICE-TCP)
		for i, p := range [][]byte{{1}, {2, 2}, big} {
			attrs := packetio.Attributes{{Key: "i", Value: i}}
			if n, err := q.Write(p, attrs); err != nil || n != len(p) {
				t.Fatalf("write %d: %d, %v", i, n, err)
			}
		}
		if got, want := q.Size(), rtpCost(1)+rtpCost(2)+rtpCost(3000); got != want {
			t.Fatalf("Size %d, want %d (the memory the packets hold)", got, want)
		}
		out := make([]byte, 4000)
		for i, want := range [][]byte{{1}, {2, 2}, big} {
			n, attrs, err := q.Read(out, nil)
			if err != nil || !bytes.Equal(out[:n], want) || attrs.Get("i") != i {
				t.Fatalf("read %d: %d bytes, attrs %v, %v", i, n, attrs, err)
			}
		}
		if q.Size() != 0 {
			t.Fatalf("Size %d after draining", q.Size())
		}
	})
	t.Run("short buffer consumes the packet", func(t *testing.T) {
		q := newTestQueue()
		_, _ = q.Write([]byte{1, 2, 3}, nil)
		_, _ = q.Write([]byte{4}, nil)
		n, _, err := q.Read(make([]byte, 2), nil)
		if n != 2 || !errors.Is(err, io.ErrShortBuffer) {
			t.Fatalf("short read: %d, %v", n, err)
		}
		out := make([]byte, 10)
		if n, _, err := q.Read(out, nil); err != nil || n != 1 || out[0] != 4 {
			t.Fatalf("next read: %d %v %v", n, out[:n], err)
		}
	})
	t.Run("limit", func(t *testing.T) {
		q := newTestQueue()
		limit := rtpCost(1000) + rtpCost(1)
		q.SetLimitSize(limit)
		if _, err := q.Write(make([]byte, 1000), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Write(make([]byte, 1), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Write(make([]byte, 1), nil); !errors.Is(err, packetio.ErrFull) {
			t.Fatalf("write past the limit: %v, want packetio.ErrFull", err)
		}
		if q.Size() != limit {
			t.Fatalf("a failed write queued something: Size %d, want %d", q.Size(), limit)
		}
	})
	t.Run("read waits for a write", func(t *testing.T) {
		q := newTestQueue()
		got := make(chan error, 1)
		go func() {
			n, _, err := q.Read(make([]byte, 10), nil)
			if err == nil && n != 3 {
				err = io.ErrUnexpectedEOF
			}
			got <- err
		}()
		_, _ = q.Write([]byte{1, 2, 3}, nil)
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("close wakes a read; queued packets stay readable", func(t *testing.T) {
		q := newTestQueue()
		got := make(chan error, 1)
		go func() {
			_, _, err := q.Read(make([]byte, 10), nil)
			got <- err
		}()
		_ = q.Close()
		if err := <-got; !errors.Is(err, io.EOF) {
			t.Fatalf("read woken by close: %v, want io.EOF", err)
		}
		q = newTestQueue()
		_, _ = q.Write([]byte{5}, nil)
		_ = q.Close()
		if _, err := q.Write([]byte{6}, nil); !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("write after close: %v", err)
		}
		if n, _, err := q.Read(make([]byte, 10), nil); n != 1 || err != nil {
			t.Fatalf("queued packet after close: %d, %v", n, err)
		}
		if _, _, err := q.Read(make([]byte, 10), nil); !errors.Is(err, io.EOF) {
			t.Fatalf("drained after close: %v, want io.EOF", err)
		}
	})
	t.Run("deadline wakes a read", func(t *testing.T) {
		q := newTestQueue()
		got := make(chan error, 1)
		go func() {
			_, _, err := q.Read(make([]byte, 10), nil)
			got <- err
		}()
		_ = q.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		err := <-got
		var ne interface{ Timeout() bool }
		if !errors.Is(err, packetio.ErrTimeout) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past its deadline: %v", err)
		}
		if _, _, err := q.Read(make([]byte, 10), nil); !errors.Is(err, packetio.ErrTimeout) {
			t.Fatalf("read after the deadline: %v", err)
		}
		_ = q.SetReadDeadline(time.Time{})
		_, _ = q.Write([]byte{1}, nil)
		if n, _, err := q.Read(make([]byte, 10), nil); n != 1 || err != nil {
			t.Fatalf("read after clearing the deadline: %d, %v", n, err)
		}
	})
}

// The size limit bounds memory whatever the packets' sizes: a client
// sending 1-byte packets on a stream nobody reads (the unclaimed bound,
// maxUnclaimedRTPBytes) must not make the queue hold more than the bound
// in slots. Counting payload bytes, as packetio does, it held 25 MB.
func TestRTPBufferLimitBoundsMemoryForTinyPackets(t *testing.T) {
	live := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := live()
	q := newTestQueue()
	q.SetLimitSize(maxUnclaimedRTPBytes)
	accepted := 0
	for range 200000 {
		if _, err := q.Write([]byte{1}, nil); err != nil {
			break
		}
		accepted++
	}
	held := int64(live()) - int64(before)
	t.Logf("%d one-byte packets queued, %d bytes held", accepted, held)
	if held > maxUnclaimedRTPBytes*3/2 {
		t.Fatalf("a queue bounded to %d bytes holds %d", maxUnclaimedRTPBytes, held)
	}
	runtime.KeepAlive(q)
}

// A stream whose bursts keep coming (a backlog of 20 packets, drained,
// again and again) keeps the ring they need: dropping it at every drain
// cost three allocations a burst. A stream whose bursts stop gives the
// grown ring back.
func TestRTPBufferRingFollowsTheBursts(t *testing.T) {
	if review5RaceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random: allocations are not counted under -race")
	}
	q := newRTPBuffer()
	pkt := make([]byte, 1200)
	out := make([]byte, 1500)
	burst := func(n int) {
		for range n {
			_, _ = q.Write(pkt, nil)
		}
		for range n {
			_, _, _ = q.Read(out, nil)
		}
	}
	burst(20)
	if allocs := testing.AllocsPerRun(1000, func() { burst(20) }); allocs > 0.01 {
		t.Fatalf("%v allocations a burst of 20 packets; want none", allocs)
	}
	grown := len(q.ring)
	burst(100)
	for range rtpRingCalm * 4 {
		burst(1)
	}
	if len(q.ring) > rtpRingKeep || len(q.ring) >= grown {
		t.Fatalf("after its bursts stopped the ring has %d headers (%d after bursts of 20); want at most %d",
			len(q.ring), grown, rtpRingKeep)
	}
}
