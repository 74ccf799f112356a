//go:build linux

package sfu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The batching socket under pion (batch.go), with real UDP sockets on
// loopback: what is written inside a scope leaves when it closes, intact
// and in order per destination, in as few system calls as the kernel
// allows; outside a scope a write leaves at once.

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// listen opens a UDP socket on network's loopback with a receive buffer
// big enough that nothing a test sends is dropped.
func listen(t *testing.T, network string) *net.UDPConn {
	t.Helper()
	ip := net.IPv4(127, 0, 0, 1)
	if network == "udp6" {
		ip = net.IPv6loopback
	}
	c, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	_ = c.SetReadBuffer(8 << 20)
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

// datagram is a test packet that looks like RTP (version 2, payload
// type 96), carrying its destination's index and its number, then filler
// up to size bytes (at least 12).
func datagram(dest, seq, size int) []byte {
	p := make([]byte, size)
	p[0], p[1], p[2] = 0x80, 96, byte(dest)
	binary.BigEndian.PutUint32(p[3:], uint32(seq))
	for i := 7; i < size; i++ {
		p[i] = byte(seq + i)
	}
	return p
}

// expect reads want's datagrams from c, in order, each intact.
func expect(t *testing.T, c *net.UDPConn, want [][]byte) {
	t.Helper()
	buf := make([]byte, 70000)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, w := range want {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%v: datagram %d of %d: %v", c.LocalAddr(), i, len(want), err)
		}
		if string(buf[:n]) != string(w) {
			t.Fatalf("%v: datagram %d is %d bytes (dest %d, #%d), want %d bytes (dest %d, #%d)", c.LocalAddr(), i,
				n, buf[2], binary.BigEndian.Uint32(buf[3:]), len(w), w[2], binary.BigEndian.Uint32(w[3:]))
		}
	}
}

// nothingWaiting reports whether c has no datagram to read now. Loopback
// usually delivers within the send call, but a busy CPU's kernel defers
// it (ksoftirqd), so this only tells that nothing was sent, never that
// something was.
func nothingWaiting(t *testing.T, c *net.UDPConn) bool {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var peekErr error
	if err := rc.Read(func(fd uintptr) bool {
		var buf [1]byte
		_, _, peekErr = unix.Recvfrom(int(fd), buf[:], unix.MSG_DONTWAIT|unix.MSG_PEEK)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if peekErr != nil && !errors.Is(peekErr, unix.EAGAIN) {
		t.Fatal(peekErr)
	}
	return errors.Is(peekErr, unix.EAGAIN)
}

// queuedNow is how many datagrams wait in b's queue.
func queuedNow(b *batcher) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.q.entries)
}

func newTestBatcher(t *testing.T, mode SendMode, sock *net.UDPConn) (*batcher, *batchConn) {
	t.Helper()
	b := newBatcher(mode, quietLog())
	w, ok := b.wrap(sock).(*batchConn)
	if !ok {
		t.Fatal("the socket was not wrapped")
	}
	return b, w
}

// frames is what a test writes: to each destination in turn (interleaved
// as a fan-out does), runs of datagrams of the sizes given.
var frameSizes = [][]int{
	{1200, 1200, 1200, 700},         // a frame: equal sizes, shorter last
	{100},                           // audio
	{1100, 1101, 1101, 1100},        // balanced sizes, as libwebrtc's packetizer makes them
	repeat(1000, 70),                // more than 64 segments
	{1450, 1450, 1450},              // larger than a joined segment may be
	{1200, 1200, 1300, 1200},        // a longer one in the middle
	{60000, 500, 500},               // one datagram near UDP's limit
	{1200, 1200, 1200, 1200, 1200},  // equal sizes, no shorter last
	{12, 12},                        // an RTP header alone
	{1000, 1000, 1000, 1000, 10000}, // over 64 KiB together
}

func repeat(size, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

// writeFrames writes frameSizes to every destination through w and
// returns what each destination should get.
func writeFrames(t *testing.T, w *batchConn, dests []netip.AddrPort) [][][]byte {
	t.Helper()
	want := make([][][]byte, len(dests))
	seq := 0
	for _, sizes := range frameSizes {
		for d, dst := range dests {
			for _, size := range sizes {
				p := datagram(d, seq, size)
				seq++
				if n, err := w.WriteToAddrPort(p, dst); err != nil || n != len(p) {
					t.Fatalf("write: %d, %v", n, err)
				}
				want[d] = append(want[d], p)
			}
		}
	}
	return want
}

func TestBatchSendsEverythingInOrderWhenTheScopeCloses(t *testing.T) {
	for _, mode := range []SendMode{SendAuto, SendMMsg} {
		t.Run(mode.String(), func(t *testing.T) {
			recv := []*net.UDPConn{listen(t, "udp4"), listen(t, "udp4"), listen(t, "udp4")}
			b, w := newTestBatcher(t, mode, listen(t, "udp4"))
			var dests []netip.AddrPort
			for _, r := range recv {
				dests = append(dests, addrOf(r))
			}
			b.begin()
			want := writeFrames(t, w, dests)
			for _, r := range recv {
				if !nothingWaiting(t, r) {
					t.Fatal("a datagram left before the scope closed")
				}
			}
			b.end()
			for i, r := range recv {
				expect(t, r, want[i])
			}
			sent, calls, failed := b.stats()
			total := uint64(len(want[0]) * len(recv))
			if sent != total || failed != 0 {
				t.Fatalf("sent %d, failed %d, want %d sent", sent, failed, total)
			}
			// About 500 KiB, one socket: one flush (two if the queue
			// filled), each one sendmmsg.
			if calls == 0 || calls > 2 {
				t.Fatalf("%d system calls for %d datagrams in at most 2 flushes", calls, total)
			}
			t.Logf("%d datagrams in %d system calls", sent, calls)
		})
	}
}

// TestBatchGroupsFramesForGSO checks the messages a flush makes: runs of
// one size to one destination (the last may be shorter) joined, at most
// 64 segments and 64 KiB, large datagrams alone.
func TestBatchGroupsFramesForGSO(t *testing.T) {
	recv := listen(t, "udp4")
	other := listen(t, "udp4")
	b, w := newTestBatcher(t, SendAuto, listen(t, "udp4"))
	if !w.gso {
		t.Skip("this kernel has no UDP GSO")
	}
	dst, dst2 := addrOf(recv), addrOf(other)
	b.begin()
	sizes := []int{1200, 1200, 1200, 700, 700, 100, 1100, 1101, 1101, 1100}
	sizes = append(sizes, repeat(1000, 70)...)
	sizes = append(sizes, repeat(1400, 50)...)
	sizes = append(sizes, 1450, 1450, 1200, 1200)
	for i, s := range sizes {
		w.WriteToAddrPort(datagram(0, i, s), dst)
	}
	w.WriteToAddrPort(datagram(1, 0, 1200), dst2) // another destination ends a group
	w.WriteToAddrPort(datagram(0, 999, 1200), dst)
	b.mu.Lock()
	b.build(w, b.q.runs[0].first, 0)
	type msg struct{ count, seg int }
	var got []msg
	for m := 0; m < b.out.n; m++ {
		seg := 0
		if b.out.hdrs[m].Hdr.Controllen > 0 {
			seg = int(binary.NativeEndian.Uint16(b.out.cmsgs[m*cmsgSpace+unix.CmsgLen(0):]))
		}
		got = append(got, msg{int(b.out.count[m]), seg})
	}
	b.mu.Unlock()
	want := []msg{
		{4, 1200},      // 1200 ×3 and a shorter 700 ends it
		{2, 700},       // 700, and a shorter 100
		{1, 0},         // 1100: a longer 1101 follows
		{3, 1101},      // 1101 1101 and a shorter 1100
		{64, 1000},     // 70 of 1000: at most 64 segments
		{6, 1000},      //
		{46, 1400},     // 50 of 1400: at most 65,000 bytes
		{4, 1400},      //
		{1, 0}, {1, 0}, // 1450 is larger than a joined segment may be
		{2, 1200}, {1, 0}, // 1200 1200, then another destination
		{1, 0}, // the last, alone
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("messages (datagrams, segment size):\n got %v\nwant %v", got, want)
	}
	b.end()
	var w0 [][]byte
	for i, s := range sizes {
		w0 = append(w0, datagram(0, i, s))
	}
	expect(t, recv, append(w0, datagram(0, 999, 1200)))
	expect(t, other, [][]byte{datagram(1, 0, 1200)})
}

func TestBatchFallsBackWhenGSOIsRefused(t *testing.T) {
	recv := listen(t, "udp4")
	b, w := newTestBatcher(t, SendAuto, listen(t, "udp4"))
	if !w.gso {
		t.Skip("this kernel has no UDP GSO")
	}
	b.refuseGSO = true
	b.begin()
	want := writeFrames(t, w, []netip.AddrPort{addrOf(recv)})
	b.end()
	expect(t, recv, want[0])
	if w.gso {
		t.Fatal("GSO still on for the socket after the kernel refused it")
	}
	if !b.gsoOff.Load() {
		t.Fatal("the fallback was not noted")
	}
	if _, _, failed := b.stats(); failed != 0 {
		t.Fatalf("%d datagrams failed", failed)
	}
	// The socket goes on without GSO.
	b.begin()
	want = writeFrames(t, w, []netip.AddrPort{addrOf(recv)})
	b.end()
	expect(t, recv, want[0])
}

func TestBatchSendsAtOnceOutsideAScope(t *testing.T) {
	recv := listen(t, "udp4")
	b, w := newTestBatcher(t, SendAuto, listen(t, "udp4"))
	p := datagram(0, 1, 300)
	if _, err := w.WriteTo(p, net.UDPAddrFromAddrPort(addrOf(recv))); err != nil {
		t.Fatal(err)
	}
	// Not queued, and it arrives. (Whether it is already in the
	// receiver's queue depends on the kernel delivering loopback
	// datagrams within the send call, which it defers to ksoftirqd on a
	// busy CPU.)
	if n := queuedNow(b); n != 0 {
		t.Fatalf("a datagram written outside a scope was queued (%d queued)", n)
	}
	expect(t, recv, [][]byte{p})
	if _, calls, _ := b.stats(); calls != 0 {
		t.Fatalf("%d batch system calls outside a scope", calls)
	}
	// Inside one, RTP waits for the scope's end; nested scopes: the
	// first to close sends it. STUN, DTLS and RTCP go at once.
	b.begin()
	b.begin()
	q := datagram(0, 2, 300)
	w.WriteToAddrPort(q, addrOf(recv))
	if !nothingWaiting(t, recv) {
		t.Fatal("RTP sent inside a scope")
	}
	for _, first := range [][2]byte{{0x00, 0x01}, {22, 0xfe}, {0x81, 200}, {0x80, 201}} { // STUN, DTLS, SR, RR
		other := datagram(0, 3, 100)
		other[0], other[1] = first[0], first[1]
		w.WriteToAddrPort(other, addrOf(recv))
		if n := queuedNow(b); n != 1 {
			t.Fatalf("a packet starting %v waited in the scope (%d queued, want the RTP alone)", first, n)
		}
		// Read it; the queued RTP is still waiting.
		buf := make([]byte, 2000)
		_ = recv.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := recv.Read(buf); err != nil || string(buf[:n]) != string(other) {
			t.Fatalf("got %d bytes, %v; want the packet starting %v", n, err, first)
		}
	}
	b.end()
	expect(t, recv, [][]byte{q})
	b.end()
}

func TestBatchFlushesAFullQueueAtOnce(t *testing.T) {
	recv := listen(t, "udp4")
	b, w := newTestBatcher(t, SendAuto, listen(t, "udp4"))
	b.begin()
	var want [][]byte
	for i := 0; i < queueDatagrams+10; i++ {
		p := datagram(0, i, 200)
		w.WriteToAddrPort(p, addrOf(recv))
		want = append(want, p)
	}
	// The first queueDatagrams went when the queue was full.
	expect(t, recv, want[:queueDatagrams])
	if !nothingWaiting(t, recv) {
		t.Fatal("more than a full queue left before the scope closed")
	}
	b.end()
	expect(t, recv, want[queueDatagrams:])
}

// TestBatchIPv6 sends through a dual-stack socket (the single-port mux's)
// to IPv4 and IPv6 receivers, and through an IPv6 one.
func TestBatchIPv6(t *testing.T) {
	r4, r6 := listen(t, "udp4"), listen(t, "udp6")
	dual, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { dual.Close() })
	for _, sock := range []*net.UDPConn{dual, listen(t, "udp6")} {
		b, w := newTestBatcher(t, SendAuto, sock)
		dests := []netip.AddrPort{addrOf(r6)}
		if sock == dual {
			dests = append(dests, addrOf(r4))
		}
		b.begin()
		want := writeFrames(t, w, dests)
		b.end()
		expect(t, r6, want[0])
		if len(dests) > 1 {
			expect(t, r4, want[1])
		}
		if _, _, failed := b.stats(); failed != 0 {
			t.Fatalf("%d failed", failed)
		}
	}
}

// TestBatchConcurrentWriters: scopes opened and closed by several
// goroutines at once (publishers' fan-outs), each writing to its own
// receiver through its own socket and through a shared one; every
// datagram arrives, in order per writer and socket.
func TestBatchConcurrentWriters(t *testing.T) {
	const writers, frames = 4, 200
	b := newBatcher(SendAuto, quietLog())
	shared := b.wrap(listen(t, "udp4")).(*batchConn)
	type target struct {
		own  *batchConn
		recv [2]*net.UDPConn // through own, through shared
	}
	targets := make([]target, writers)
	for i := range targets {
		targets[i].own = b.wrap(listen(t, "udp4")).(*batchConn)
		targets[i].recv = [2]*net.UDPConn{listen(t, "udp4"), listen(t, "udp4")}
	}
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tg := targets[i]
			for f := 0; f < frames; f++ {
				b.begin()
				for k := 0; k < 4; k++ {
					tg.own.WriteToAddrPort(datagram(i, f*4+k, 1000+k/3*100), addrOf(tg.recv[0]))
					shared.WriteToAddrPort(datagram(i, f*4+k, 1000), addrOf(tg.recv[1]))
				}
				b.end()
			}
		}()
	}
	wg.Wait()
	for i, tg := range targets {
		var w0, w1 [][]byte
		for s := 0; s < frames*4; s++ {
			w0 = append(w0, datagram(i, s, 1000+(s%4)/3*100))
			w1 = append(w1, datagram(i, s, 1000))
		}
		expect(t, tg.recv[0], w0)
		expect(t, tg.recv[1], w1)
	}
	if _, _, failed := b.stats(); failed != 0 {
		t.Fatalf("%d failed", failed)
	}
}

// TestBatchIPv6ToAnIPv4Socket: an IPv4 socket given an IPv6 destination
// inside a scope fails that write at once, as the socket would, and sends
// the rest.
func TestBatchIPv6ToAnIPv4Socket(t *testing.T) {
	recv := listen(t, "udp4")
	b, w := newTestBatcher(t, SendAuto, listen(t, "udp4"))
	b.begin()
	p := datagram(0, 1, 100)
	w.WriteToAddrPort(p, addrOf(recv))
	if _, err := w.WriteToAddrPort(p, netip.MustParseAddrPort("[2001:db8::1]:9")); err == nil {
		t.Fatal("an IPv6 destination on an IPv4 socket was taken")
	}
	b.end()
	expect(t, recv, [][]byte{p})
}

func TestBatchCountsWhatItCannotSend(t *testing.T) {
	recv := listen(t, "udp4")
	sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b, w := newTestBatcher(t, SendAuto, sock)
	b.begin()
	for i := 0; i < 3; i++ {
		w.WriteToAddrPort(datagram(0, i, 100), addrOf(recv))
	}
	sock.Close()
	b.end()
	if sent, _, failed := b.stats(); failed != 3 || sent != 0 {
		t.Fatalf("sent %d, failed %d; want 0 and 3", sent, failed)
	}
}

func TestBatchDoesNotAllocate(t *testing.T) {
	recv := listen(t, "udp4")
	for _, mode := range []SendMode{SendAuto, SendMMsg} {
		b, w := newTestBatcher(t, mode, listen(t, "udp4"))
		dst := addrOf(recv)
		frame := [][]byte{datagram(0, 0, 1200), datagram(0, 1, 1200), datagram(0, 2, 800)}
		a := testing.AllocsPerRun(100, func() {
			b.begin()
			for _, p := range frame {
				w.WriteToAddrPort(p, dst)
			}
			b.end()
			w.WriteToAddrPort(frame[0], dst) // outside a scope
		})
		if a != 0 {
			t.Errorf("%s: %.1f allocations a frame", mode, a)
		}
	}
}

func TestProbeChoosesAMode(t *testing.T) {
	if m, _ := probeSend(SendPlain, quietLog()); m != SendPlain {
		t.Fatalf("plain asked, %s chosen", m)
	}
	m, why := probeSend(SendAuto, quietLog())
	t.Logf("this kernel: %s (%s)", m, why)
	if m == SendPlain {
		t.Fatalf("Linux has sendmmsg, yet the probe chose %s: %s", m, why)
	}
}
