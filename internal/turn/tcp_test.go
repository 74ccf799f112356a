package turn

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"
)

// stallConn is a client's TCP connection that stops reading when told
// to: what the server sends then piles up in the kernel's buffers.
type stallConn struct {
	net.Conn
	stalled atomic.Bool
	release chan struct{}
}

func (c *stallConn) Read(p []byte) (int, error) {
	if c.stalled.Load() {
		<-c.release
		return 0, net.ErrClosed
	}
	return c.Conn.Read(p)
}

// dialTCP connects to the server's TURN port over TCP.
func (f *fixture) dialTCP(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.srv.Port())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// tcpClient is a TURN client over the TCP connection c.
func (f *fixture) tcpClient(t *testing.T, c net.Conn, participant string) *pionturn.Client {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(f.srv.Port()))
	user, pass := f.srv.Credentials(participant)
	conn := pionturn.NewSTUNConn(c)
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: addr, STUNServerAddr: addr, Conn: conn,
		Username: user, Password: pass, Realm: "kaigi", RTO: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); conn.Close() })
	return cl
}

// roundTrip relays a packet from the client's relay to the SFU and one
// back, and returns the relay's address as the SFU sees it.
func (f *fixture) roundTrip(t *testing.T, relay net.PacketConn, what string) net.Addr {
	t.Helper()
	if _, err := relay.WriteTo([]byte(what), f.sfu.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	got, from := read(t, f.sfu, "the SFU reading "+what)
	if string(got) != what {
		t.Fatalf("the SFU got %q, want %q", got, what)
	}
	stop := resend(f.sfu, []byte("back: "+what), from)
	defer stop()
	if got, _ := read(t, relay, "the client reading the answer to "+what); string(got) != "back: "+what {
		t.Fatalf("client got %q", got)
	}
	return from
}

// TestTCPClientNotReading: a TURN-over-TCP client that allocates a relay
// and then stops reading its socket while the SFU sends it media is cut off
// once a write to it has waited writeTimeout: its connection is closed, its
// allocation and its TCP place are freed (another client can take them),
// and a well-behaved TCP client on the same server keeps its relay working
// throughout.
func TestTCPClientNotReading(t *testing.T) {
	const timeout = time.Second
	f := start(t, func(c *Config) { c.MaxAllocations, c.writeTimeout = 2, timeout })

	good := f.tcpClient(t, f.dialTCP(t), "good")
	goodRelay, err := good.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer goodRelay.Close()
	f.roundTrip(t, goodRelay, "good, before")

	raw := f.dialTCP(t)
	raw.SetReadBuffer(16 << 10) // fills sooner; the server's send buffer still grows to its maximum
	stall := &stallConn{Conn: raw, release: make(chan struct{})}
	bad := f.tcpClient(t, stall, "bad")
	t.Cleanup(func() { close(stall.release) }) // runs before the client's cleanup
	badRelay, err := bad.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	to := f.roundTrip(t, badRelay, "bad, while reading")
	if n := f.srv.Allocations(); n != 2 {
		t.Fatalf("%d allocations, want 2", n)
	}

	stall.stalled.Store(true)
	stalled := time.Now()
	done := make(chan struct{})
	flooded := make(chan struct{})
	go func() { // media for the client that no longer reads
		defer close(flooded)
		pkt := make([]byte, 1200)
		for {
			for range 20 {
				f.sfu.WriteTo(pkt, to)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	defer func() { close(done); <-flooded }()

	f.roundTrip(t, goodRelay, "good, while the other stalls")

	limit := stalled.Add(timeout + 10*time.Second) // filling the buffers takes well under a second
	for f.srv.Allocations() != 1 {
		if time.Now().After(limit) {
			t.Fatalf("the allocation of a client that stopped reading is still held %v later (%d allocations)", time.Since(stalled).Round(time.Millisecond), f.srv.Allocations())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("closed %v after the client stopped reading (write timeout %v)", time.Since(stalled).Round(time.Millisecond), timeout)

	f.roundTrip(t, goodRelay, "good, after")
	// The freed TCP place and allocation can be taken again.
	next := f.tcpClient(t, f.dialTCP(t), "next")
	nextRelay, err := next.Allocate()
	if err != nil {
		t.Fatalf("no TCP place or allocation freed: %v", err)
	}
	defer nextRelay.Close()
	f.roundTrip(t, nextRelay, "next")
}

// watchConn reports when a read from the connection fails (the server
// closed it).
type watchConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *watchConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(func() { close(c.closed) })
	}
	return n, err
}

// waitClosed reads c until the server closes it and returns how long that
// took from since, failing the test if it is still open at limit.
func waitClosed(t *testing.T, c net.Conn, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	c.SetReadDeadline(since.Add(limit))
	buf := make([]byte, 1500)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue // e.g. replies to Binding requests
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open %v later", limit)
		}
		return time.Since(since)
	}
}

// TestTCPConnectionWithoutAllocation: a TCP connection that has no
// allocation is closed allocateTimeout after it was accepted or after its
// allocation went away, whatever it sends: nothing, part of a frame, or
// unauthenticated Binding requests (which the server answers) that would
// otherwise reset the 10-minute idle timeout for ever. Each holds a TCP
// place (there are MaxAllocations of them) until then. A connection with an
// allocation is not cut off while idle.
func TestTCPConnectionWithoutAllocation(t *testing.T) {
	const timeout = 500 * time.Millisecond
	f := start(t, func(c *Config) { c.MaxAllocations, c.allocateTimeout = 2, timeout })
	binding, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewSoftware("test"), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, took time.Duration) {
		t.Helper()
		// Not refused at once for want of a place: served, then closed.
		if took < timeout*3/4 {
			t.Fatalf("closed after %v, before the %v it is given", took, timeout)
		}
		t.Logf("closed after %v (timeout %v)", took.Round(time.Millisecond), timeout)
	}

	t.Run("silent", func(t *testing.T) {
		c := f.dialTCP(t)
		check(t, waitClosed(t, c, time.Now(), timeout+5*time.Second))
	})
	t.Run("part of a frame", func(t *testing.T) {
		c := f.dialTCP(t)
		start := time.Now()
		if _, err := c.Write(binding.Raw[:len(binding.Raw)-4]); err != nil {
			t.Fatal(err)
		}
		check(t, waitClosed(t, c, start, timeout+5*time.Second))
	})
	t.Run("Binding requests", func(t *testing.T) {
		c := f.dialTCP(t)
		start := time.Now()
		if _, err := c.Write(binding.Raw); err != nil {
			t.Fatal(err)
		}
		resp := make([]byte, 1500)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(resp); err != nil {
			t.Fatalf("no answer to a Binding request: %v", err)
		}
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write(binding.Raw); err != nil {
					return
				}
			}
		}()
		check(t, waitClosed(t, c, start, timeout+5*time.Second))
	})
	t.Run("with an allocation", func(t *testing.T) {
		c := &watchConn{Conn: f.dialTCP(t), closed: make(chan struct{})}
		cl := f.tcpClient(t, c, "ada")
		relay, err := cl.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * timeout) // idle, well past the timeout
		select {
		case <-c.closed:
			t.Fatalf("a connection with an allocation closed after %v idle", 3*timeout)
		default:
		}
		f.roundTrip(t, relay, "after idling")
		relay.Close() // deletes the allocation (Refresh, lifetime 0)
		freed := time.Now()
		select {
		case <-c.closed:
			check(t, time.Since(freed))
		case <-time.After(timeout + 5*time.Second):
			t.Fatalf("connection still open %v after its allocation went", timeout+5*time.Second)
		}
	})
	// The places those held are free again.
	for _, p := range []string{"x", "y"} {
		relay, err := f.tcpClient(t, f.dialTCP(t), p).Allocate()
		if err != nil {
			t.Fatalf("TCP place not freed: %v", err)
		}
		defer relay.Close()
	}
}

// TestTCPConnNoAllocation: reading and writing a TURN-over-TCP connection
// (media, both ways) allocates nothing per packet, with or without an
// allocation on it.
func TestTCPConnNoAllocation(t *testing.T) {
	f := start(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := &limitedListener{Listener: ln, srv: f.srv, slots: make(chan struct{}, 1)}
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*limitedConn)
	defer c.Close()
	// Allocations are counted process-wide, and the teardown of an
	// earlier test's server may still be allocating (seen once under
	// -race): a measurement is taken up to three times, and one with none
	// is enough. An allocation per packet shows in every one.
	allocsPerRun := func(f func()) float64 {
		var n float64
		for range 3 {
			if n = testing.AllocsPerRun(100, f); n == 0 {
				break
			}
		}
		return n
	}
	pkt := make([]byte, 1200)
	buf := make([]byte, 1500)
	for _, allocated := range []bool{false, true} {
		f.srv.allocationEvent(client.LocalAddr(), allocated)
		// Up to 303 packets each way fit in loopback's socket buffers.
		written := 0
		if n := allocsPerRun(func() {
			if _, err := c.Write(pkt); err != nil {
				t.Fatal(err)
			}
			written++
		}); n != 0 {
			t.Errorf("allocated %v: %v allocations per write", allocated, n)
		}
		for range 3 * 101 {
			client.Write(pkt[:100])
		}
		if n := allocsPerRun(func() {
			if _, err := c.Read(buf[:100]); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("allocated %v: %v allocations per read", allocated, n)
		}
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(client, make([]byte, written*len(pkt))); err != nil {
			t.Fatal(err)
		}
	}
}

// connsFrom is how many TCP connections from ip the server has open.
func (f *fixture) connsFrom(ip netip.Addr) int {
	f.srv.mu.Lock()
	defer f.srv.mu.Unlock()
	n := 0
	for a := range f.srv.tcpConns {
		if a.Addr().Unmap() == ip {
			n++
		}
	}
	return n
}

// TestTCPOneHostCannotTakeThePlaces: a host with no credential that keeps
// opening TURN-over-TCP connections and never allocates, reconnecting as
// soon as one is closed, holds at most perSourceCap of the TCP places (its
// other connections are closed at once); a client on another address
// connects meanwhile, allocates and relays, and keeps relaying while the
// attacker's connections are closed and reopened. Before the per-source
// cap the attacker held every place and the genuine client's connection
// was closed at once.
func TestTCPOneHostCannotTakeThePlaces(t *testing.T) {
	const timeout = time.Second // each attacker connection is held this long
	attacker := netip.MustParseAddr("127.0.0.1")
	genuine := netip.MustParseAddr("127.0.0.2")
	for _, places := range []int{40, 6} { // the cap is the constant; half the places
		t.Run(strconv.Itoa(places)+" places", func(t *testing.T) {
			f := start(t, func(c *Config) { c.MaxAllocations, c.allocateTimeout = places, timeout })
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(f.srv.Port()))
			limit := perSourceCap(places)
			t.Logf("at most %d of %d places for one source", limit, places)

			var refused atomic.Int64 // attacker connections closed at once
			done := make(chan struct{})
			var wg sync.WaitGroup
			for range places + 4 { // more than there are places
				wg.Go(func() {
					d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(attacker, 0))}
					buf := make([]byte, 64)
					for {
						select {
						case <-done:
							return
						default:
						}
						c, err := d.Dial("tcp", addr)
						if err != nil {
							time.Sleep(20 * time.Millisecond)
							continue
						}
						opened := time.Now()
						for { // until the server closes it
							c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
							_, err := c.Read(buf)
							var ne net.Error
							if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
								if err != nil {
									break
								}
								continue
							}
							select {
							case <-done:
								c.Close()
								return
							default:
							}
						}
						c.Close()
						if time.Since(opened) < timeout/2 {
							refused.Add(1)
						}
						time.Sleep(20 * time.Millisecond) // ~50 a second per goroutine when refused
					}
				})
			}
			stop := sync.OnceFunc(func() { close(done); wg.Wait() })
			defer stop()

			// Once one attacker connection is refused, it holds all it can.
			for deadline := time.Now().Add(10 * time.Second); refused.Load() == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no attacker connection refused; it holds %d", f.connsFrom(attacker))
				}
			}
			held := f.connsFrom(attacker)
			t.Logf("the attacker holds %d places", held)

			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(genuine, 0))}
			c, err := d.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			relay, err := f.tcpClient(t, c, "genuine").Allocate()
			if err != nil {
				t.Fatalf("a client on another address got no TCP place (the attacker held %d of %d): %v", held, places, err)
			}
			defer relay.Close()
			f.roundTrip(t, relay, "while one host reconnects")

			// The attacker's connections are closed after timeout and
			// reopened; it never holds more than its cap.
			until := time.Now().Add(2*timeout + timeout/2)
			for time.Now().Before(until) {
				if n := f.connsFrom(attacker); n > limit {
					t.Fatalf("the attacker holds %d places, more than %d", n, limit)
				}
				time.Sleep(20 * time.Millisecond)
			}
			f.roundTrip(t, relay, "after the attacker's connections were closed and reopened")
			t.Logf("%d attacker connections refused at once", refused.Load())

			// Gone, the attacker leaves nothing counted (the genuine
			// client's connection has its allocation).
			stop()
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				f.srv.mu.Lock()
				pending := len(f.srv.pending)
				f.srv.mu.Unlock()
				if pending == 0 && f.connsFrom(attacker) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after the attacker left: %d sources counted, %d of its connections open", pending, f.connsFrom(attacker))
				}
			}
		})
	}
}

// TestSourceKey: connections without an allocation are counted by IPv4
// address (mapped or not) and by IPv6 /64.
func TestSourceKey(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"127.0.0.1", "::ffff:127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", false},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:eeee:dddd:cccc", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"fe80::1%eth0", "fe80::2", true},
	} {
		a, b := sourceKey(netip.MustParseAddr(c.a)), sourceKey(netip.MustParseAddr(c.b))
		if (a == b) != c.same {
			t.Errorf("%s (%v) and %s (%v): same source %v, want %v", c.a, a, c.b, b, a == b, c.same)
		}
	}
}
