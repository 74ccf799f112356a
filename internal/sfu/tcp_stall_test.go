//go:build linux

package sfu

import (
	"encoding/binary"
	"io"
	"net"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"golang.org/x/sys/unix"
)

// freezer is a TCP proxy between an ICE-TCP client and the SFU's ICE-TCP
// port whose server-to-client direction can be frozen: it then stops
// reading from the SFU, as a client that stops reading its socket does,
// so the SFU's writes to it fill the kernel's buffers. Its socket to the
// SFU has a small receive buffer, so that takes a second, not minutes.
type freezer struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu     sync.Mutex
	frozen bool
	thaw   chan struct{} // closed when unfrozen
	conns  []net.Conn
	// servers are the connections to the SFU.
	servers []*net.TCPConn
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp4", "198.18.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{t: t, ln: ln, target: target, thaw: make(chan struct{})}
	close(f.thaw)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *freezer) port() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *freezer) accept() {
	small := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	for {
		client, err := f.ln.Accept()
		if err != nil {
			return
		}
		server, err := small.Dial("tcp4", f.target)
		if err != nil {
			client.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, client, server)
		f.servers = append(f.servers, server.(*net.TCPConn))
		f.mu.Unlock()
		go func() { _, _ = io.Copy(server, client) }()
		go f.down(server, client)
	}
}

// down copies from the SFU to the client, a little at a time, and not
// while frozen.
func (f *freezer) down(server, client net.Conn) {
	buf := make([]byte, 2048)
	for {
		f.mu.Lock()
		thaw := f.thaw
		f.mu.Unlock()
		<-thaw
		n, err := server.Read(buf)
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			client.Close()
			return
		}
	}
}

// reset reports that the SFU has reset or closed every connection to it.
// The proxy's socket says so without being read: TCP_INFO's state is
// CLOSE after a reset, CLOSE_WAIT after a FIN.
func (f *freezer) reset() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.servers {
		rc, err := c.SyscallConn()
		if err != nil {
			return false
		}
		var state uint8
		var serr error
		if err := rc.Control(func(fd uintptr) {
			var info *unix.TCPInfo
			info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
			if serr == nil {
				state = info.State
			}
		}); err != nil || serr != nil {
			return false
		}
		if state != unix.BPF_TCP_CLOSE && state != unix.BPF_TCP_CLOSE_WAIT {
			return false
		}
	}
	return len(f.servers) > 0
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.frozen {
		f.frozen = true
		f.thaw = make(chan struct{})
	}
}

func (f *freezer) unfreeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen {
		f.frozen = false
		close(f.thaw)
	}
}

func (f *freezer) close() {
	f.unfreeze()
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

// viaProxy is a client's Signaller that points the SFU's passive ICE-TCP
// candidates at a proxy's port, in descriptions and trickled candidates.
type viaProxy struct {
	*pionClient
	re   *regexp.Regexp
	port string
}

func (v viaProxy) rewrite(s string) string {
	return v.re.ReplaceAllString(s, "${1}"+v.port+"${2}")
}

func (v viaProxy) Offer(sdp string, tracks []TrackInfo) { v.pionClient.Offer(v.rewrite(sdp), tracks) }
func (v viaProxy) Answer(sdp string)                    { v.pionClient.Answer(v.rewrite(sdp)) }
func (v viaProxy) Candidate(c webrtc.ICECandidateInit) {
	c.Candidate = v.rewrite(c.Candidate)
	v.pionClient.Candidate(c)
}

// newTCPClient is a pionClient that may use ICE-TCP only, reaching the
// SFU's ICE-TCP port (sfuPort) through a proxy listening on proxyPort.
func newTCPClient(t *testing.T, r *Router, participant string, sfuPort, proxyPort int) *pionClient {
	t.Helper()
	media := &webrtc.MediaEngine{}
	if err := media.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(media, reg); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c := &pionClient{t: t, pc: pc, queue: make(chan func(), 1024), done: make(chan struct{}),
		received: make(map[uint32]*streamLog), ssrcOf: make(map[webrtc.RTPCodecType]uint32)}
	sig := viaProxy{pionClient: c, port: strconv.Itoa(proxyPort),
		re: regexp.MustCompile(`( tcp \d+ \S+ )` + strconv.Itoa(sfuPort) + `( typ host tcptype passive)`)}
	p, err := r.AddPeer(participant, sig)
	if err != nil {
		t.Fatal(err)
	}
	c.peer = p
	pc.OnTrack(c.receive)
	go c.run()
	t.Cleanup(c.close)
	return c
}

// bigPayload is packet i's payload as testPayload's, 1100 bytes long.
func bigPayload(i uint32) []byte {
	p := make([]byte, 1100)
	p[0] = 0x10
	binary.BigEndian.PutUint32(p[1:], i)
	return p
}

// TestTCPSubscriberThatStopsReadingStallsNoOne: a subscriber connected
// over ICE-TCP that stops reading its socket (a hostile client, or one
// whose network went away without a reset) must not stall the fan-out of
// the tracks it subscribes to: the SFU's writes to it would fill the
// kernel's send buffer and then block, and they are made while a
// publisher's frame is sent to every subscriber. The other subscribers
// (over UDP) go on receiving at the published rate while it is frozen,
// and the SFU closes the frozen connection rather than holding it (and
// its queue) forever. Needs the network namespace (scripts/isolated.sh).
func TestTCPSubscriberThatStopsReadingStallsNoOne(t *testing.T) {
	s, err := New(Config{ICETCP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	// A small send buffer at the SFU (accepted connections inherit the
	// listener's), so that a frozen client stalls a write within a
	// second: Linux grows an ICE-TCP connection's to 4 MiB by default,
	// 8 seconds of this test's camera.
	rc, err := s.tcp.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 32<<10)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	r := s.NewRouter("m")
	t.Cleanup(r.Close)
	proxy := newFreezer(t, net.JoinHostPort("198.18.0.1", strconv.Itoa(s.TCPPort())))

	pub := newPionClient(t, r, "pub")
	subs := []*pionClient{newPionClient(t, r, "sub1"), newPionClient(t, r, "sub2")}
	frozen := newTCPClient(t, r, "tcp", s.TCPPort(), proxy.port())
	cam := pub.publish([]Source{SourceCamera}, false)["camera/"]

	// 4 Mbit/s: ten 1100-byte packets every 20 ms.
	var sent atomic.Uint32
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for range 10 {
				if err := cam.write(bigPayload(sent.Add(1)), 300); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-stopped
	})
	everyone := append([]*pionClient{frozen}, subs...)
	waitFor(t, 30*time.Second, "a subscriber never received the camera", func() bool {
		for _, c := range everyone {
			if len(c.got(webrtc.RTPCodecTypeVideo)) == 0 {
				return false
			}
		}
		return true
	})
	proxy.freeze()
	const window, windows = time.Second, 6
	received := func(c *pionClient) int { return len(c.got(webrtc.RTPCodecTypeVideo)) }
	before := make([]int, len(subs))
	for i, c := range subs {
		before[i] = received(c)
	}
	sentBefore := sent.Load()
	for w := range windows {
		time.Sleep(window)
		now := sent.Load()
		for i, c := range subs {
			got := received(c)
			// Half the rate in every window: a fan-out that stalls
			// forwards nothing at all; a loaded machine may lag a
			// little.
			if d, want := got-before[i], int(now-sentBefore)/2; d < want {
				t.Fatalf("while the ICE-TCP subscriber is frozen, second %d: subscriber %d received %d packets of %d published", w+1, i+1, d, now-sentBefore)
			}
			before[i] = got
		}
		sentBefore = now
	}
	t.Logf("%d packets published; the UDP subscribers received %d and %d", sent.Load(), received(subs[0]), received(subs[1]))

	// The SFU resets the frozen connection (it has stopped reading it
	// for good), rather than holding it and what it queued for it.
	waitFor(t, 20*time.Second, "the SFU never reset the ICE-TCP connection that stopped reading", proxy.reset)
	t.Logf("the frozen connection was reset; the SFU dropped %d frames for it", s.tcp.dropped.Load())
	if n := s.tcp.stalls.Load(); n != 1 {
		t.Errorf("the SFU counted %d ICE-TCP connections reset for not reading, want 1", n)
	}
	waitFor(t, 5*time.Second, "the SFU still holds the reset connection", func() bool { return s.tcp.open() == 0 })
}
