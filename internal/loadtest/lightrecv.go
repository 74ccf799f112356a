package loadtest

// The light receiver (--receiver light): subscribers that count what they
// receive without pion's receive chain, so that the load generator costs
// less CPU than the server it measures.
//
// Each PeerConnection still does ICE, DTLS and SRTP key agreement in pion,
// through one UDP socket shared by up to lightPerSocket subscribers (pion's
// UDP mux). Once a track is known (pion's OnTrack, on its first packet),
// the RTP packets of its SSRC from its server address never reach pion:
// they are decrypted here with the connection's own SRTP keys (taken from
// its DTLS session) and counted like any other (trackStats.observeAt).
// STUN, DTLS, RTCP and each track's first packets go to pion as before.
//
// How the sockets are read is what makes the receiver light. On this
// project's VMs, entering and leaving the kernel is dear (BENCHMARKS.md:
// 38 % of the old reader's samples were the paravirtual interrupt enable
// on the way back from system calls and context switches), and a reader
// woken by the Go poller for every burst the server sends read a few
// packets per wake-up, each paid with an epoll and a futex wake-up. So the
// sockets are not Go net.Conns at all (the Go poller never hears of them,
// so it is not woken per packet either): one goroutine drains every
// socket with non-blocking recvmmsg, then sleeps a tick (lightTick, a
// nanosleep, no Go timer) unless a batch came back full. At 1→200 that is
// about 500 wake-ups a second with about a hundred packets each, whatever
// the server's bursts. Its reads and sleeps are raw system calls, so that
// the scheduler does not hand its P around at every one (read). What pion
// must see is copied into a small queue its mux reads (ReadFromAddrPort):
// a few hundred packets a second, none of them media.
//
// What differs from the browser-like receiver: no interceptors, so the
// subscriber sends no NACKs (a lost packet stays lost: loss is what the
// server's forwarding and the kernel dropped, unrepaired) and no receiver
// reports; a packet that fails SRTP authentication is dropped and so
// counted as lost; latency includes up to one tick of waiting in the
// socket (take latency from the browser receiver).

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
	"golang.org/x/sys/unix"
)

// The receivers.
const (
	BrowserReceiver = "browser" // pion's full receive chain, with NACKs and reports
	LightReceiver   = "light"   // batched reads, SRTP decrypted and counted here
)

const (
	// lightPerSocket is how many subscribers share one socket: fewer
	// sockets are fewer recvmmsg calls per tick.
	lightPerSocket = 256
	// lightBatch is how many packets one recvmmsg reads at most; a full
	// batch is read again at once instead of sleeping.
	lightBatch = 256
	// lightTick is how long the reader sleeps after draining every
	// socket: the packets that arrive meanwhile wait in the socket's
	// buffer (at 1→200, about 100 of them).
	lightTick = 2 * time.Millisecond
	// lightRcvBuf is each socket's receive buffer, forced past
	// net.core.rmem_max where the process may (root, as in
	// scripts/isolated.sh): a generator that loses the CPU for a while
	// drops nothing until this fills.
	lightRcvBuf = 32 << 20
	// lightToPion is how many packets wait for pion's mux at most;
	// beyond, the newest are dropped (pion retransmits what matters).
	lightToPion = 1024
	// lightMTU is the largest datagram read.
	lightMTU = 1500
)

// lightDatagram is one packet handed to pion.
type lightDatagram struct {
	b    []byte
	from netip.AddrPort
}

// lightSocket is one shared UDP socket (a raw, blocking descriptor the Go
// poller does not know). lightReceivers' reader drains it; pion's ICE mux
// reads what the light path does not take through ReadFromAddrPort and
// writes through WriteToAddrPort.
type lightSocket struct {
	fd    int
	local *net.UDPAddr
	api   *webrtc.API
	mux   ice.UDPMux
	users int // subscribers given this socket (lightReceivers.mu)

	// routes maps a track (its server address and SSRC) to its counter.
	// Copy-on-write under mu: the reader loads it without a lock.
	mu     sync.Mutex
	routes atomic.Pointer[map[lightKey]*lightTrack]

	toPion    chan lightDatagram
	free      chan []byte // buffers pion's side has finished with
	closed    chan struct{}
	closeOnce sync.Once

	// The reader's own state (one goroutine).
	hdrs     []unix.Mmsghdr
	iovs     []unix.Iovec
	names    []unix.RawSockaddrInet4
	bufs     []byte // lightBatch datagrams of lightMTU bytes
	hdr      rtp.Header
	plain    []byte
	lastKey  lightKey // the last packet's track: a frame's packets come together
	lastHit  *lightTrack
	taken    atomic.Uint64 // media packets counted here
	failed   atomic.Uint64 // packets that did not decrypt
	toPionN  atomic.Uint64 // packets handed to pion
	droppedN atomic.Uint64 // packets for pion dropped (its queue full)
}

// lightKey names a track on a socket.
type lightKey struct {
	from netip.AddrPort
	ssrc uint32
}

// lightTrack is one registered track.
type lightTrack struct {
	peer  *lightPeer
	stats *trackStats
}

// lightPeer is one subscriber's PeerConnection as seen from the socket.
type lightPeer struct {
	// ctx decrypts what the server sends; until the first packet decrypts,
	// the two candidates (which end of DTLS was the client) are tried.
	// Only the reader reads and writes ctx.
	ctx        *srtp.Context
	candidates [2]*srtp.Context
}

// lightReceivers hands out sockets, lightPerSocket subscribers each, and
// runs the one reader of them all.
type lightReceivers struct {
	mu      sync.Mutex
	sockets []*lightSocket
	live    atomic.Pointer[[]*lightSocket] // what the reader drains
	stop    atomic.Bool
	done    chan struct{} // closed when the reader has returned; nil before it starts
}

// api returns the webrtc.API of a socket with room for one more subscriber.
func (lr *lightReceivers) api() (*webrtc.API, *lightSocket, error) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if n := len(lr.sockets); n > 0 && lr.sockets[n-1].users < lightPerSocket {
		s := lr.sockets[n-1]
		s.users++
		return s.api, s, nil
	}
	s, err := newLightSocket()
	if err != nil {
		return nil, nil, err
	}
	s.users = 1
	lr.add(s)
	return s.api, s, nil
}

// add gives the reader one more socket, starting it with the first (lr.mu
// held).
func (lr *lightReceivers) add(s *lightSocket) {
	lr.sockets = append(lr.sockets, s)
	live := append([]*lightSocket(nil), lr.sockets...)
	lr.live.Store(&live)
	if lr.done == nil {
		lr.done = make(chan struct{})
		go lr.read()
	}
}

// counted is the media packets the light path took and those that failed
// to decrypt, over all sockets.
func (lr *lightReceivers) counted() (taken, failed uint64) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	for _, s := range lr.sockets {
		taken += s.taken.Load()
		failed += s.failed.Load()
	}
	return taken, failed
}

// close stops the reader, then closes the sockets.
func (lr *lightReceivers) close() {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if lr.done != nil {
		lr.stop.Store(true)
		<-lr.done
	}
	for _, s := range lr.sockets {
		_ = s.mux.Close() // closes s for pion's reader (Close)
		_ = s.Close()
		_ = unix.Close(s.fd) // the reader is gone: nothing reads it now
	}
	lr.sockets = nil
}

// read drains every socket, then sleeps a tick unless a batch was full,
// until close.
//
// The sleep and the reads are raw system calls, which the Go scheduler
// does not see: the goroutine keeps its P while it sleeps, as if it were
// running (the reads never wait: MSG_DONTWAIT). As ordinary system calls
// (unix.Nanosleep, unix.Syscall6), the P sat in a system call a thousand
// times a second, and the runtime's monitor took it back and handed it to
// another thread whenever the rest of the generator was busy (perf at
// 1→200, BENCHMARKS.md). The other P runs everything else (the
// generator's GOMAXPROCS is the machine's CPUs, 2 here, although the
// process is pinned to one); with a single P a raw sleep would hold up
// every other goroutine, so there the sleep is an ordinary system call.
// A raw sleep is cut short by the runtime's preemption signal (EINTR),
// so a stop of the world does not wait for the tick.
func (lr *lightReceivers) read() {
	defer close(lr.done)
	tick := unix.NsecToTimespec(int64(lightTick))
	raw := runtime.GOMAXPROCS(0) > 1
	for !lr.stop.Load() {
		full := false
		now := time.Now() // the batch's arrival time, for latency
		for _, s := range *lr.live.Load() {
			if s.drain(now) == lightBatch {
				full = true
			}
		}
		switch {
		case full:
		case raw:
			// Interrupted (EINTR: the runtime's preemption signal, at
			// most every 10 ms), it just drains again.
			_, _, _ = unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&tick)), 0, 0)
		default:
			_ = unix.Nanosleep(&tick, nil)
		}
	}
}

func newLightSocket() (*lightSocket, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("light receiver socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("light receiver socket: bind: %w", err)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, lightRcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, lightRcvBuf) // capped at rmem_max
	}
	sa, err := unix.Getsockname(fd)
	in4, ok := sa.(*unix.SockaddrInet4)
	if err != nil || !ok {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("light receiver socket: getsockname: %v", err)
	}
	s := &lightSocket{fd: fd, local: &net.UDPAddr{IP: net.IP(in4.Addr[:]).To16(), Port: in4.Port},
		toPion: make(chan lightDatagram, lightToPion), free: make(chan []byte, lightToPion),
		closed: make(chan struct{}), plain: make([]byte, lightMTU)}
	empty := map[lightKey]*lightTrack{}
	s.routes.Store(&empty)
	s.hdrs = make([]unix.Mmsghdr, lightBatch)
	s.iovs = make([]unix.Iovec, lightBatch)
	s.names = make([]unix.RawSockaddrInet4, lightBatch)
	s.bufs = make([]byte, lightBatch*lightMTU)
	for i := range s.hdrs {
		s.iovs[i].Base = &s.bufs[i*lightMTU]
		s.iovs[i].SetLen(lightMTU)
		s.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		s.hdrs[i].Hdr.Iov = &s.iovs[i]
		s.hdrs[i].Hdr.SetIovlen(1)
	}
	// The mux complains when a PeerConnection closes while it writes
	// (at the end of a run); nothing it says concerns the measurement.
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	s.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: s, Logger: quiet.NewLogger("ice")})
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEUDPMux(s.mux)
	// No interceptors: media never reaches them, so a NACK generator or
	// receiver reports would speak of the tracks' first packets only.
	// (An API made without a registry gets pion's defaults: give it an
	// empty one.)
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	return s, nil
}

// drain reads one batch without waiting, counts its media and hands the
// rest to pion; it returns how many packets it read.
func (s *lightSocket) drain(now time.Time) int {
	for i := range s.hdrs {
		s.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
	}
	// Raw, like the reader's sleep (lightReceivers.read): it never waits
	// (MSG_DONTWAIT), and a large batch takes tens of microseconds to
	// copy, long enough for the runtime's monitor to take the P back.
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.hdrs[0])),
		uintptr(len(s.hdrs)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0 // EAGAIN: nothing waiting
	}
	for i := range int(n) {
		b := s.bufs[i*lightMTU : i*lightMTU+int(s.hdrs[i].Len)]
		port := (*[2]byte)(unsafe.Pointer(&s.names[i].Port))
		from := netip.AddrPortFrom(netip.AddrFrom4(s.names[i].Addr), uint16(port[0])<<8|uint16(port[1]))
		if !s.take(b, from, now) {
			s.handOn(b, from)
		}
	}
	return int(n)
}

// take counts b if it is RTP of a known track from its server; it reports
// whether it did (pion then never sees the packet).
func (s *lightSocket) take(b []byte, from netip.AddrPort, now time.Time) bool {
	// RTP, not RTCP (RFC 5761: payload types 64-95 with the marker bit are
	// RTCP's 192-223), not STUN or DTLS (first byte below 128).
	if len(b) < 12 || b[0]>>6 != 2 || (b[1]&0x7f >= 64 && b[1]&0x7f < 96) {
		return false
	}
	key := lightKey{from, uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])}
	t := s.lastHit
	if t == nil || key != s.lastKey {
		if t = (*s.routes.Load())[key]; t == nil {
			return false
		}
		s.lastKey, s.lastHit = key, t
	}
	lp := t.peer
	var out []byte
	var err error
	if lp.ctx != nil {
		out, err = lp.ctx.DecryptRTP(s.plain[:0], b, &s.hdr)
	} else {
		err = errors.New("no key yet")
		for _, c := range lp.candidates {
			if out, err = c.DecryptRTP(s.plain[:0], b, &s.hdr); err == nil {
				lp.ctx = c
				break
			}
		}
	}
	if err != nil {
		s.failed.Add(1)
		return true // not authentic (or not ours): dropped, counted as lost
	}
	s.taken.Add(1)
	t.stats.observeAt(out, now)
	return true
}

// handOn queues a copy of b for pion's mux, or drops it if pion is that
// far behind.
func (s *lightSocket) handOn(b []byte, from netip.AddrPort) {
	var buf []byte
	select {
	case buf = <-s.free:
	default:
		buf = make([]byte, lightMTU)
	}
	select {
	case s.toPion <- lightDatagram{buf[:copy(buf, b)], from}:
		s.toPionN.Add(1)
	default:
		s.droppedN.Add(1)
	}
}

// register routes the track's RTP to stats from now on.
func (s *lightSocket) register(rt *client.RemoteTrack, stats *trackStats) error {
	recv := rt.Receiver()
	if recv == nil || recv.Track() == nil {
		return errors.New("no receiver")
	}
	dt := recv.Transport()
	pair, err := dt.ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return fmt.Errorf("no selected candidate pair: %v", err)
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return err
	}
	from := netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port)
	s.mu.Lock()
	defer s.mu.Unlock()
	var lp *lightPeer
	for k, t := range *s.routes.Load() {
		if k.from == from {
			lp = t.peer
			break
		}
	}
	if lp == nil {
		cands, err := remoteContexts(dt)
		if err != nil {
			return err
		}
		lp = &lightPeer{candidates: cands}
	}
	s.route(lightKey{from, uint32(recv.Track().SSRC())}, &lightTrack{peer: lp, stats: stats})
	return nil
}

// route adds a track to the routes (s.mu held): a new map, so that the
// reader never sees one being written.
func (s *lightSocket) route(k lightKey, t *lightTrack) {
	old := *s.routes.Load()
	routes := make(map[lightKey]*lightTrack, len(old)+1)
	for k, v := range old {
		routes[k] = v
	}
	routes[k] = t
	s.routes.Store(&routes)
}

// remoteContexts makes the SRTP contexts that would decrypt what the
// other end sends, one for each DTLS role this end may have had: the
// first packet tells which.
//
// pion does not export a DTLS transport's session; sfu.PionDTLS reads it
// (the version is pinned in go.mod, and TestPionSRTPFieldsAreThere and
// TestLightReceiverCounts fail if its fields go away).
func remoteContexts(dt *webrtc.DTLSTransport) ([2]*srtp.Context, error) {
	var out [2]*srtp.Context
	d, err := sfu.PionDTLS(dt)
	if err != nil {
		return out, err
	}
	for i, isClient := range []bool{true, false} {
		keys, err := d.Keys(isClient)
		if err != nil {
			return out, err
		}
		c, err := srtp.CreateContext(keys.RemoteMasterKey, keys.RemoteMasterSalt, d.Profile)
		if err != nil {
			return out, err
		}
		out[i] = c
	}
	return out, nil
}

// ReadFromAddrPort is how pion's mux reads (ice.AddrPortReaderWriter): the
// next packet the light path did not take.
func (s *lightSocket) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-s.toPion:
		n := copy(p, d.b)
		select {
		case s.free <- d.b[:cap(d.b)]:
		default:
		}
		return n, d.from, nil
	case <-s.closed:
		return 0, netip.AddrPort{}, io.EOF
	}
}

// WriteToAddrPort sends on the socket (a blocking send: control traffic
// only, a few hundred small packets a second, which UDP does not hold up).
func (s *lightSocket) WriteToAddrPort(p []byte, to netip.AddrPort) (int, error) {
	if !to.Addr().Unmap().Is4() {
		return 0, fmt.Errorf("light receiver: %v is not IPv4", to)
	}
	if err := unix.Sendto(s.fd, p, 0, &unix.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().Unmap().As4()}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ReadFrom and WriteTo make it a net.PacketConn (pion uses the AddrPort
// forms above when it can).
func (s *lightSocket) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := s.ReadFromAddrPort(p)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (s *lightSocket) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("light receiver: %T is not a UDP address", addr)
	}
	return s.WriteToAddrPort(p, ua.AddrPort())
}

// Close ends pion's reads; the descriptor is closed by lightReceivers.close
// once the reader has stopped (so that its number is not reused under it).
func (s *lightSocket) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

func (s *lightSocket) LocalAddr() net.Addr { return s.local }

// The deadlines do nothing: reads wait on the queue until Close, and
// writes do not block for long (pion's mux sets a write deadline only to
// abort writes when it closes).
func (s *lightSocket) SetDeadline(time.Time) error      { return nil }
func (s *lightSocket) SetReadDeadline(time.Time) error  { return nil }
func (s *lightSocket) SetWriteDeadline(time.Time) error { return nil }
