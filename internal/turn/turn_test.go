package turn

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"
)

// media plays the SFU: one UDP socket is its media address; the TURN server
// may relay to it and to nothing else.
type media struct{ conn *net.UDPConn }

func (m media) MediaIP(ip netip.Addr) bool {
	return ip == m.conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr()
}

func (m media) MediaAddr(a netip.AddrPort) bool {
	return a == m.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

var loopback = netip.MustParseAddr("127.0.0.1")

func udpSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type fixture struct {
	srv   *Server
	sfu   *net.UDPConn
	clock atomic.Int64 // unix seconds
}

func start(t *testing.T, adjust func(*Config)) *fixture {
	t.Helper()
	f := &fixture{sfu: udpSocket(t)}
	f.clock.Store(time.Now().Unix())
	cfg := Config{
		RelayIPs: []netip.Addr{loopback},
		Peers:    media{f.sfu},
		Now:      func() time.Time { return time.Unix(f.clock.Load(), 0) },
	}
	if adjust != nil {
		adjust(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f.srv = srv
	return f
}

// client is a TURN client over UDP or TCP.
func (f *fixture) client(t *testing.T, transport, user, pass string) *pionturn.Client {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(f.srv.Port()))
	var conn net.PacketConn
	if transport == "tcp" {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	} else {
		conn = udpSocket(t)
	}
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

// resend sends msg to addr every 50 ms (at most 200 times) until stopped.
func resend(c net.PacketConn, msg []byte, addr net.Addr) (stop func()) {
	done := make(chan struct{})
	go func() {
		for range 200 {
			c.WriteTo(msg, addr)
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() { close(done) }
}

// read waits for a datagram (bounded), failing the test on a timeout.
func read(t *testing.T, c net.PacketConn, what string) ([]byte, net.Addr) {
	t.Helper()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, from, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return buf[:n], from
}

// TestRelayToMedia: with a fresh credential, a client over UDP and one
// over TCP each get a relay on the relay address, and media flows both
// ways between them and the SFU's socket.
func TestRelayToMedia(t *testing.T) {
	f := start(t, nil)
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			user, pass := f.srv.Credentials("p-" + transport)
			cl := f.client(t, transport, user, pass)
			relay, err := cl.Allocate()
			if err != nil {
				t.Fatalf("allocate with a fresh credential: %v", err)
			}
			defer relay.Close()
			if n := f.srv.Allocations(); n < 1 {
				t.Errorf("%d allocations counted with one open", n)
			}
			ra := relay.LocalAddr().(*net.UDPAddr).AddrPort()
			if ra.Addr() != loopback {
				t.Errorf("relay address %v, want one on %v", ra, loopback)
			}
			msg := []byte("to the sfu over " + transport)
			if _, err := relay.WriteTo(msg, f.sfu.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			got, from := read(t, f.sfu, "the SFU's socket reading the relayed packet")
			if !bytes.Equal(got, msg) || from.(*net.UDPAddr).Port != int(ra.Port()) {
				t.Fatalf("SFU got %q from %v, want %q from the relay %v", got, from, msg, ra)
			}
			// The SFU answers as media does, again and again: pion's client
			// binds a channel in the background and may drop a packet that
			// arrives on it just before the binding is done.
			stop := resend(f.sfu, []byte("back"), from)
			defer stop()
			if got, _ := read(t, relay, "the client reading the SFU's answer"); string(got) != "back" {
				t.Fatalf("client got %q", got)
			}
		})
	}
}

// TestRefusedCredentials: an expired credential, a forged password, a
// username naming someone else under another's password, a username that
// is not "<expiry>:<participant>", a later expiry, and another realm open
// nothing.
func TestRefusedCredentials(t *testing.T) {
	f := start(t, nil)
	user, pass := f.srv.Credentials("ada")
	expiry, _, _ := strings.Cut(user, ":")
	cases := map[string][2]string{
		"forged password":        {user, "bm90IHRoZSBwYXNzd29yZA=="},
		"another's password":     {expiry + ":bob", pass},
		"no expiry":              {"ada", pass},
		"a later expiry, forged": {strconv.FormatInt(f.clock.Load()+300, 10) + ":ada", pass},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cl := f.client(t, "udp", c[0], c[1])
			if relay, err := cl.Allocate(); err == nil {
				relay.Close()
				t.Fatal("allocated")
			}
		})
	}
	t.Run("another realm", func(t *testing.T) {
		if _, _, ok := f.srv.authenticate(&pionturn.RequestAttributes{Username: user, Realm: "other", Method: stun.MethodAllocate}); ok {
			t.Fatal("a credential accepted for another realm")
		}
	})
	t.Run("expired", func(t *testing.T) {
		f.clock.Add(int64(DefaultLifetime/time.Second) + 1)
		defer f.clock.Add(-int64(DefaultLifetime/time.Second) - 1)
		cl := f.client(t, "udp", user, pass)
		if relay, err := cl.Allocate(); err == nil {
			relay.Close()
			t.Fatal("allocated with an expired credential")
		}
	})
	t.Run("the genuine one still works", func(t *testing.T) {
		cl := f.client(t, "udp", user, pass)
		relay, err := cl.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		relay.Close()
	})
}

// TestExpiredCredentialRefreshes: a relay opened in time may be kept
// (Refresh, CreatePermission, ChannelBind) after its credential expired,
// but not open a new one; and not forever.
func TestExpiredCredentialRefreshes(t *testing.T) {
	f := start(t, nil)
	user, pass := f.srv.Credentials("ada")
	key := pionturn.GenerateAuthKey(user, "kaigi", pass)
	ask := func(m stun.Method) bool {
		_, k, ok := f.srv.authenticate(&pionturn.RequestAttributes{Username: user, Realm: "kaigi", Method: m})
		return ok && bytes.Equal(k, key)
	}
	for _, m := range []stun.Method{stun.MethodAllocate, stun.MethodRefresh, stun.MethodCreatePermission, stun.MethodChannelBind} {
		if !ask(m) {
			t.Errorf("%v refused with a fresh credential", m)
		}
	}
	f.clock.Add(int64(DefaultLifetime/time.Second) + 1)
	if ask(stun.MethodAllocate) {
		t.Error("Allocate accepted with an expired credential")
	}
	if !ask(stun.MethodRefresh) || !ask(stun.MethodCreatePermission) {
		t.Error("an expired credential cannot keep its relay")
	}
	f.clock.Add(int64(MaxRefreshAge / time.Second))
	if ask(stun.MethodRefresh) {
		t.Errorf("Refresh accepted %v after expiry", MaxRefreshAge)
	}
}

// TestNoRelayElsewhere: a permission for an address that is not the SFU's
// is refused, and on the SFU's own address only its media port is reached:
// another service on the same address gets nothing, and what it sends is
// not passed back.
func TestNoRelayElsewhere(t *testing.T) {
	f := start(t, nil)
	user, pass := f.srv.Credentials("mallory")
	cl := f.client(t, "udp", user, pass)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()

	elsewhere := &net.UDPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 53}
	if err := cl.CreatePermission(elsewhere); err == nil {
		t.Fatalf("permission granted for %v, which is not a media address", elsewhere)
	}
	other := udpSocket(t) // another service on the SFU's address
	if _, err := relay.WriteTo([]byte("to another service"), other.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, err := relay.WriteTo([]byte("to the sfu"), f.sfu.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	got, from := read(t, f.sfu, "the SFU's socket")
	if string(got) != "to the sfu" {
		t.Fatalf("SFU got %q", got)
	}
	// Loopback delivers in order: had the first packet been relayed, it
	// would be waiting on the other socket by now.
	other.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _, err := other.ReadFrom(make([]byte, 100)); err == nil {
		t.Fatalf("another service on the SFU's address got %d bytes through the relay", n)
	}
	// What the other service sends to the relay is dropped; the SFU's next
	// packet is what the client reads.
	if _, err := other.WriteTo([]byte("from another service"), from); err != nil {
		t.Fatal(err)
	}
	stop := resend(f.sfu, []byte("from the sfu"), from)
	defer stop()
	if got, _ := read(t, relay, "the client"); string(got) != "from the sfu" {
		t.Fatalf("client got %q first, want the SFU's packet", got)
	}
}

// TestAllocationLimits: one credential opens at most PerCredential relays,
// the server at most MaxAllocations, and closing one frees its place.
func TestAllocationLimits(t *testing.T) {
	f := start(t, func(c *Config) { c.PerCredential, c.MaxAllocations = 2, 3 })
	alloc := func(user, pass string) (net.PacketConn, error) {
		return f.client(t, "udp", user, pass).Allocate()
	}
	ua, pa := f.srv.Credentials("ada")
	var open []net.PacketConn
	for range 2 {
		r, err := alloc(ua, pa)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, r)
	}
	if r, err := alloc(ua, pa); err == nil {
		r.Close()
		t.Fatal("a third allocation for one credential")
	}
	ub, pb := f.srv.Credentials("bob")
	if _, err := alloc(ub, pb); err != nil {
		t.Fatal(err)
	}
	uc, pc := f.srv.Credentials("cy")
	if r, err := alloc(uc, pc); err == nil {
		r.Close()
		t.Fatal("a fourth allocation on a server that allows three")
	}
	open[0].Close() // the client deletes its allocation (Refresh, lifetime 0)
	deadline := time.Now().Add(10 * time.Second)
	for f.srv.Allocations() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r, err := alloc(uc, pc); err != nil {
		t.Fatalf("no place after one was freed: %v", err)
	} else {
		r.Close()
	}
}

// TestNoTCPRelay: a TCP relay (RFC 6062), which would proxy TCP, is refused.
func TestNoTCPRelay(t *testing.T) {
	f := start(t, nil)
	user, pass := f.srv.Credentials("ada")
	cl := f.client(t, "tcp", user, pass)
	if a, err := cl.AllocateTCP(); err == nil {
		a.Close()
		t.Fatal("TCP relay allocated")
	} else if errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
}
