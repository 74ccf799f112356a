package server_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// deadPathConn is a client's UDP socket, on every address of the host,
// whose path to one of the server's addresses can die: from then on every
// datagram to or from it is lost, as when the interface carrying the
// selected candidate pair goes away, while the client's other addresses
// still reach the server's other candidates.
type deadPathConn struct {
	net.PacketConn

	mu      sync.Mutex
	lastRTP string // the address the last RTP packet came from
	dead    string // the address cut off ("" while none is)
	killed  time.Time

	after    atomic.Uint64 // RTP packets received after the cut
	firstNew atomic.Int64  // when the first of them came (UnixNano), 0 before
}

func newDeadPathConn(t *testing.T) *deadPathConn {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &deadPathConn{PacketConn: conn}
}

func (c *deadPathConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		from := addr.String()
		c.mu.Lock()
		dead, killed := c.dead, !c.killed.IsZero()
		if isRTP(p[:n]) && from != dead {
			c.lastRTP = from
		}
		c.mu.Unlock()
		if from == dead {
			continue
		}
		if killed && isRTP(p[:n]) {
			if c.after.Add(1) == 1 {
				c.firstNew.Store(time.Now().UnixNano())
			}
		}
		return n, addr, nil
	}
}

func (c *deadPathConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if addr.String() == dead {
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}

// kill cuts the path the media comes by and returns its address.
func (c *deadPathConn) kill() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead, c.killed = c.lastRTP, time.Now()
	return c.dead
}

// deadPathAPI is client.DefaultAPI's configuration carrying its media over
// conn.
func deadPathAPI(conn net.PacketConn) *webrtc.API {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	se.SetICEUDPMux(webrtc.NewICEUDPMux(quiet.NewLogger("ice"), conn))
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
}

// TestICERestartAfterPathDies: the path of a subscriber's selected
// candidate pair dies while another path to the server works. pion, the
// controlled agent, keeps sending into the dead pair, and neither side
// restarts ICE on its own (a browser may even stay "connected"): the
// server notices its transport down and asks the client to restart ICE
// (ice_restart), and media comes again by the other path within
// recoveryBound of the cut.
func TestICERestartAfterPathDies(t *testing.T) {
	const recoveryBound = 12 * time.Second
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "camera")
	conn := newDeadPathConn(t)
	bob := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Bob", API: deadPathAPI(conn)})
	receiving(t, bob, ada, "camera", 50)

	dead := conn.kill()
	if dead == "" {
		t.Fatal("no RTP seen on the client's socket")
	}
	t.Logf("cut the path to %s", dead)
	ctx, cancel := context.WithTimeout(context.Background(), recoveryBound)
	defer cancel()
	err := bob.WaitFor(ctx, "Ada's camera by another path", func() bool { return conn.after.Load() >= 50 })
	if err != nil {
		t.Fatalf("%v (ice_restart asked %d times)", err, bob.ICERestartsAsked())
	}
	took := time.Unix(0, conn.firstNew.Load()).Sub(conn.killed)
	t.Logf("media again %v after the cut; the server asked for %d ICE restart(s)", took.Round(10*time.Millisecond), bob.ICERestartsAsked())
	if bob.ICERestartsAsked() == 0 {
		t.Error("media came back without the server asking for an ICE restart: the path did not die")
	}
}
