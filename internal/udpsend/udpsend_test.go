package udpsend

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestEveryMethodDelivers: each way of sending puts every packet of every
// frame into the right receiver's socket, GSO's segments included (the
// receiving socket has no UDP_GRO, so the kernel splits them). Speed is
// the program's business (./udplimit), never asserted here. Where the
// kernel refuses GSO the GSO methods are skipped and the test says so.
func TestEveryMethodDelivers(t *testing.T) {
	const dests, rounds = 7, 3
	r, err := Receive(dests)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := NewSender(r.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var want int64
	for _, m := range Methods {
		for i := 0; i < rounds; i++ {
			n, err := s.Round(m)
			if errors.Is(err, ErrGSORefused) {
				t.Logf("%s: %v (skipped)", m.Name, err)
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			if n != dests*FramePackets {
				t.Fatalf("%s: a round sent %d packets, want %d", m.Name, n, dests*FramePackets)
			}
			want += int64(n)
		}
		// Loopback delivers in the send call; a bounded wait covers the
		// readers' scheduling.
		deadline := time.Now().Add(10 * time.Second)
		for r.Packets() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := r.Packets(); got != want {
			t.Fatalf("after %s: %d packets arrived, want %d", m.Name, got, want)
		}
	}
	if want == 0 {
		t.Fatal("nothing sent")
	}
}

// TestSendsDoNotAllocate: the plain and GSO sends allocate nothing per
// round, so the measurement counts the kernel and the runtime's send
// path, not garbage.
//
// The destinations are sockets nobody reads (their buffers hold the few
// hundred kilobytes sent): AllocsPerRun counts the whole process, and
// Receivers' reading goroutines, woken more or less often as the machine
// is busy, would be counted with the sender.
func TestSendsDoNotAllocate(t *testing.T) {
	var dests []netip.AddrPort
	for range 2 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadBuffer(4 << 20)
		dests = append(dests, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	s, err := NewSender(dests)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, m := range []Method{Methods[0], {Name: "GSO", Batch: 1, GSO: true}} {
		if _, err := s.Round(m); errors.Is(err, ErrGSORefused) {
			continue
		}
		if a := testing.AllocsPerRun(20, func() { s.Round(m) }); a != 0 {
			t.Errorf("%s: %.1f allocations a round", m.Name, a)
		}
	}
}
