//go:build linux

package sfu

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A destination the kernel refuses is not a GSO refusal. A socket bound
// to loopback gets EINVAL for any destination routed off the host, with
// or without UDP_SEGMENT: in CI a browser's candidate on a test bridge
// that another package's test had just removed (internal/clustertest).
// The batched path must then lose what a plain sendto would lose and no
// more, keep GSO for the socket, and say why.

// offHost is a destination routed off the host (TEST-NET-1, never
// local).
var offHost = netip.MustParseAddrPort("192.0.2.1:9")

// refusedFromLoopback returns a socket on loopback and checks that the
// kernel refuses its plain sends to offHost with EINVAL, as it does when
// a route leads off the host (scripts/isolated.sh has one).
func refusedFromLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	plain := listen(t, "udp4")
	_, err := plain.WriteToUDPAddrPort(datagram(0, 0, 100), offHost)
	if errno := unix.Errno(0); !errors.As(err, &errno) || errno != unix.EINVAL {
		t.Skipf("a plain send from loopback to %v gets %v here, not EINVAL: the test needs a route off the host (run it in scripts/isolated.sh)", offHost, err)
	}
	return plain
}

// plainFailures sends ps to dst one sendto each, as pion does unwrapped,
// and counts those the kernel refuses.
func plainFailures(plain *net.UDPConn, ps [][]byte, dst netip.AddrPort) uint64 {
	var n uint64
	for _, p := range ps {
		if _, err := plain.WriteToUDPAddrPort(p, dst); err != nil {
			n++
		}
	}
	return n
}

// logTo is a logger writing to buf.
func logTo(buf *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(buf, nil)) }

func TestBatchRefusedDestinationKeepsGSO(t *testing.T) {
	plain := refusedFromLoopback(t)
	good := listen(t, "udp4")
	var logs bytes.Buffer
	b := newBatcher(SendAuto, logTo(&logs))
	w := b.wrap(listen(t, "udp4")).(*batchConn)
	if !w.gso {
		t.Skip("this kernel has no UDP GSO")
	}
	b.begin()
	want := writeFrames(t, w, []netip.AddrPort{addrOf(good), offHost})
	b.end()
	expect(t, good, want[0])

	sent, _, failed := b.stats()
	lost := plainFailures(plain, want[1], offHost)
	if lost == 0 {
		t.Fatal("plain sends to the refused destination went")
	}
	if failed != lost || sent != uint64(len(want[0])) {
		t.Fatalf("batched: %d sent, %d lost; one sendto each: %d sent, %d lost", sent, failed, len(want[0]), lost)
	}
	if !w.gso || b.gsoOff.Load() {
		t.Fatal("GSO turned off for the socket because a destination was refused")
	}
	// The refusal is said once, with its errno and the destination's
	// kind, never the address.
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, out)
	}
	for _, s := range []string{"errno=EINVAL", `destination="public IPv4"`, "local=" + addrOf(w.UDPConn).String()} {
		if !strings.Contains(out, s) {
			t.Errorf("the warning does not say %s:\n%s", s, out)
		}
	}
	if strings.Contains(out, offHost.Addr().String()) {
		t.Errorf("the warning names the destination's address:\n%s", out)
	}

	// The socket goes on joining the good destination's frames: a
	// frame of equal sizes is one GSO message.
	b.begin()
	frame := [][]byte{datagram(0, 1, 1200), datagram(0, 2, 1200), datagram(0, 3, 700)}
	for _, p := range frame {
		w.WriteToAddrPort(p, addrOf(good))
	}
	b.mu.Lock()
	b.build(w, b.q.runs[0].first, 0)
	msgs := b.out.n
	b.mu.Unlock()
	b.end()
	expect(t, good, frame)
	if msgs != 1 {
		t.Fatalf("a frame to the good destination took %d messages, want one GSO message", msgs)
	}
}

// TestBatchTellsGSORefusalFromARefusedDestination: a kernel that refuses
// GSO, with a destination it refuses anyway in the same batch: GSO is
// turned off (a GSO message to the good destination fails and its
// datagrams go alone), and the refused destination loses what plain
// sends lose.
func TestBatchTellsGSORefusalFromARefusedDestination(t *testing.T) {
	plain := refusedFromLoopback(t)
	good := listen(t, "udp4")
	var logs bytes.Buffer
	b := newBatcher(SendAuto, logTo(&logs))
	w := b.wrap(listen(t, "udp4")).(*batchConn)
	if !w.gso {
		t.Skip("this kernel has no UDP GSO")
	}
	b.refuseGSO = true
	b.begin()
	want := writeFrames(t, w, []netip.AddrPort{offHost, addrOf(good)})
	b.end()
	expect(t, good, want[1])
	sent, _, failed := b.stats()
	if lost := plainFailures(plain, want[0], offHost); failed != lost || sent != uint64(len(want[1])) {
		t.Fatalf("batched: %d sent, %d lost; one sendto each: %d sent, %d lost", sent, failed, len(want[1]), lost)
	}
	if w.gso || !b.gsoOff.Load() {
		t.Fatal("GSO still on after the kernel refused it for a destination it takes")
	}
	if out := logs.String(); !strings.Contains(out, "errno=EIO") || strings.Count(out, "level=WARN") != 2 {
		t.Fatalf("want one warning for GSO (EIO) and one for the refused destination:\n%s", out)
	}
}

func TestDestKind(t *testing.T) {
	for _, c := range []struct{ dst, want string }{
		{"127.0.0.1:5000", "loopback IPv4"},
		{"[::ffff:10.1.2.3]:5000", "private IPv4"},
		{"198.19.3.1:5000", "benchmarking-range IPv4"},
		{"192.0.2.1:0", "public port 0 IPv4"},
		{"[fe80::1]:5000", "link-local IPv6"},
		{"[2001:db8::1]:5000", "public IPv6"},
		{"[::]:5000", "unspecified IPv6"},
	} {
		if got := destKind(netip.MustParseAddrPort(c.dst)); got != c.want {
			t.Errorf("destKind(%s) = %q, want %q", c.dst, got, c.want)
		}
	}
}
