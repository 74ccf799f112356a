package server_test

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// lossyConn is a client's UDP socket on a bad path: it drops a fraction of
// the media packets it receives and, optionally, of those it sends, and
// may delay each media packet by a random time, which reorders them as
// jitter on a real path does. Media is (S)RTP and (S)RTCP; STUN and DTLS
// pass untouched and at once, so what is measured is the media, not how
// long the connection takes to come up. Decisions are random with a fixed
// seed.
type lossyConn struct {
	net.PacketConn
	rate    float64       // of received RTP packets (RTCP too if jitter is set)
	outRate float64       // of sent RTP and RTCP packets
	jitter  time.Duration // each media packet is delayed by [0, jitter)

	mu  sync.Mutex
	rng *rand.Rand

	dropped    atomic.Uint64 // received packets dropped
	droppedOut atomic.Uint64 // sent packets dropped
	outage     outage

	// What passed, counted on the wire (SRTP leaves RTP and RTCP headers
	// in clear): the RTP sequence numbers received per SSRC, which shows
	// duplicates before SRTP's replay check hides them, and the NACK and
	// PLI messages sent (a lost one counts: the client sent it).
	rtpIn     map[uint32]*sequences // guarded by mu
	received  atomic.Uint64         // RTP packets that passed
	nacksSent atomic.Uint64
	plisSent  atomic.Uint64

	// With jitter, a reader goroutine feeds ReadFrom through queue.
	queue   chan datagram
	readErr error
	done    chan struct{} // closed when the reader stops; readErr is set
}

type datagram struct {
	b    []byte
	addr net.Addr
}

// outage drops every RTP packet received from the first one seen after
// start until one numbered n or more after it arrives: the path is down
// while the sender numbers n packets. Packets late from the outage pass
// once it is over.
type outage struct {
	mu     sync.Mutex
	want   uint16 // n, 0 when no outage was asked for
	active bool
	began  bool
	first  uint16
	over   chan struct{}
}

// newLossyConn drops the fraction rate of the RTP packets it receives
// (never RTCP, STUN or DTLS), with no delay.
func newLossyConn(t *testing.T, rate float64) *lossyConn {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &lossyConn{PacketConn: conn, rate: rate, rng: rand.New(rand.NewPCG(1, 2))}
}

// newJitteryConn is a path that drops the fraction in of the media
// packets it receives (RTP and RTCP) and out of those it sends, and delays
// every media packet, both ways, by a random time below jitter.
func newJitteryConn(t *testing.T, in, out float64, jitter time.Duration) *lossyConn {
	t.Helper()
	c := newLossyConn(t, in)
	c.outRate, c.jitter = out, jitter
	c.queue = make(chan datagram, 4096)
	c.done = make(chan struct{})
	go c.read()
	return c
}

func (c *lossyConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.jitter > 0 {
		select {
		case d := <-c.queue:
			return copy(p, d.b), d.addr, nil
		case <-c.done:
			return 0, nil, c.readErr
		}
	}
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil || !isRTP(p[:n]) {
			return n, addr, err
		}
		if !c.dropIn(p[:n]) {
			c.count(p[:n])
			return n, addr, err
		}
	}
}

// read receives datagrams for a jittery path, dropping and delaying media.
func (c *lossyConn) read() {
	buf := make([]byte, 1500)
	for {
		n, addr, err := c.PacketConn.ReadFrom(buf)
		if err != nil {
			c.readErr = err
			close(c.done)
			return
		}
		d := datagram{b: append([]byte(nil), buf[:n]...), addr: addr}
		if !isMedia(d.b) {
			c.deliver(d)
			continue
		}
		if c.dropIn(d.b) {
			continue
		}
		time.AfterFunc(c.delay(), func() { c.deliver(d) })
	}
}

func (c *lossyConn) deliver(d datagram) {
	if isRTP(d.b) {
		c.count(d.b)
	}
	select {
	case c.queue <- d:
	case <-c.done:
	default: // a full queue loses the packet, as a full socket buffer does
		c.dropped.Add(1)
	}
}

// count notes a received RTP packet that passed.
func (c *lossyConn) count(b []byte) {
	c.received.Add(1)
	ssrc := binary.BigEndian.Uint32(b[8:12])
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rtpIn == nil {
		c.rtpIn = make(map[uint32]*sequences)
	}
	s := c.rtpIn[ssrc]
	if s == nil {
		s = &sequences{}
		c.rtpIn[ssrc] = s
	}
	s.note(binary.BigEndian.Uint16(b[2:4]))
}

// duplicates is how many RTP packets received repeated one received
// before, over every SSRC.
func (c *lossyConn) duplicates() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n uint64
	for _, s := range c.rtpIn {
		_, d, _ := s.counts()
		n += d
	}
	return n
}

func (c *lossyConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if isMedia(p) && !isRTP(p) {
		switch {
		case p[1] == 205 && p[0]&0x1f == 1: // RTPFB, generic NACK
			c.nacksSent.Add(1)
		case p[1] == 206 && p[0]&0x1f == 1: // PSFB, picture loss indication
			c.plisSent.Add(1)
		}
	}
	if c.jitter == 0 || !isMedia(p) {
		return c.PacketConn.WriteTo(p, addr)
	}
	if c.chance(c.outRate) {
		c.droppedOut.Add(1)
		return len(p), nil
	}
	b := append([]byte(nil), p...)
	time.AfterFunc(c.delay(), func() { _, _ = c.PacketConn.WriteTo(b, addr) })
	return len(p), nil
}

// dropIn decides whether a received media packet is lost.
func (c *lossyConn) dropIn(b []byte) bool {
	if (isRTP(b) && c.outage.drops(binary.BigEndian.Uint16(b[2:4]))) || c.chance(c.rate) {
		c.dropped.Add(1)
		return true
	}
	return false
}

func (c *lossyConn) chance(p float64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64() < p
}

func (c *lossyConn) delay() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.rng.Int64N(int64(c.jitter)))
}

// startOutage drops every RTP packet received until the sender has
// numbered n more; the channel is closed when the outage is over.
func (c *lossyConn) startOutage(n uint16) <-chan struct{} {
	o := &c.outage
	o.mu.Lock()
	defer o.mu.Unlock()
	o.want, o.active, o.began, o.over = n, true, false, make(chan struct{})
	return o.over
}

func (o *outage) drops(seq uint16) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.active {
		return false
	}
	if !o.began {
		o.first, o.began = seq, true
	}
	if d := int16(seq - o.first); d >= 0 && uint16(d) >= o.want {
		o.active = false
		close(o.over)
		return false
	}
	return true
}

// isRTP tells (S)RTP from RTCP (payload types 192-223 with the marker
// bit), STUN and DTLS (RFC 7983).
func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

// isMedia tells (S)RTP and (S)RTCP from STUN and DTLS (RFC 7983).
func isMedia(b []byte) bool {
	return len(b) >= 8 && b[0] >= 128 && b[0] <= 191
}

// lossyAPI is client.DefaultAPI's configuration (default codecs and
// interceptors, including the NACK generator) carrying its media over conn.
func lossyAPI(conn *lossyConn) *webrtc.API {
	return lossyAPIWith(conn, webrtc.RegisterDefaultInterceptors)
}

// lossyAPIWith is lossyAPI with the given interceptors.
func lossyAPIWith(conn *lossyConn, interceptors func(*webrtc.MediaEngine, *interceptor.Registry) error) *webrtc.API {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	r := &interceptor.Registry{}
	if err := interceptors(m, r); err != nil {
		panic(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	se.SetICEUDPMux(webrtc.NewICEUDPMux(quiet.NewLogger("ice"), conn))
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(r), webrtc.WithSettingEngine(se))
}
