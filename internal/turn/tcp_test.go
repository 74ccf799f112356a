package turn

import (
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

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
