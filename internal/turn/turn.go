// Package turn is Kaigi's embedded TURN server (RFC 8656, pion/turn), for
// browsers on networks that block UDP or direct connections: they reach it
// over UDP or TCP and it relays their media to the SFU over UDP.
//
// It is not a general-purpose relay. It relays only to the SFU's own media
// sockets (address and port, checked on every permission and every packet),
// so it cannot be used as an open proxy to reach anything else, on the
// internet or on the server's own network. Credentials are per participant
// and short-lived, in the TURN REST form: the username is
// "<expiry unix time>:<participant ID>" and the password is the base64
// HMAC-SHA1 of the username under a secret made at start, so nothing needs
// to be stored and a restart revokes them all. A new allocation needs an
// unexpired credential; an allocation made with it may be kept alive
// (refreshed) after that, for at most MaxRefreshAge. Allocations are bounded
// per credential and in total, relay ports come from a configured range,
// and TCP relays (RFC 6062) are not offered. A TURN-over-TCP connection
// holds one of MaxAllocations places only while it has an allocation (10
// seconds to make one) or is busy (10 minutes idle); one source (IPv4
// address, IPv6 /64) may have at most 16 connections without an allocation
// at once, so that one host cannot take every place by reconnecting; and a
// client that stops reading is cut off: no write to it waits more than 5
// seconds.
package turn

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"
)

// Peers are the only addresses the server relays to: the SFU's media
// sockets.
type Peers interface {
	// MediaIP reports whether ip is an address of a media socket.
	MediaIP(ip netip.Addr) bool
	// MediaAddr reports whether addr is a media socket.
	MediaAddr(addr netip.AddrPort) bool
}

// Defaults for the zero values of Config.
const (
	DefaultLifetime       = 10 * time.Minute
	DefaultPerCredential  = 10
	DefaultMaxAllocations = 1000
	// MaxRefreshAge is how long after its credential expired an
	// allocation may still be refreshed (a meeting may last that long
	// over TURN without the client reconnecting).
	MaxRefreshAge = 24 * time.Hour
)

// Config configures a Server.
type Config struct {
	// Port is the TURN port for both UDP and TCP; 0 picks a free one.
	Port int
	// Realm is the TURN realm; "kaigi" if empty.
	Realm string
	// RelayIPs are the relay addresses given to clients, at most one per
	// address family; relays are bound to them. If empty, the host's first
	// non-loopback address of each family is used (loopback if it has no
	// other).
	RelayIPs []netip.Addr
	// BindAny binds relays to every address while still advertising
	// RelayIPs (behind a 1:1 NAT, where RelayIPs are public addresses).
	BindAny bool
	// RelayPortMin and RelayPortMax bound the relay ports; zero means any
	// free port.
	RelayPortMin, RelayPortMax uint16
	// MaxAllocations is the most relays at once; PerCredential the most
	// for one credential (one participant's join). Zero means the defaults.
	MaxAllocations, PerCredential int
	// Lifetime is how long a credential can open new allocations; zero
	// means DefaultLifetime.
	Lifetime time.Duration
	// Peers are where media may be relayed to. Required.
	Peers Peers
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now (tests move it).
	Now func() time.Time

	// allocateTimeout bounds how long a TCP connection is kept without an
	// allocation; zero means defaultAllocateTimeout (tests shorten it).
	allocateTimeout time.Duration
	// writeTimeout bounds a write to a TURN-over-TCP client; zero means
	// tcpWriteTimeout (tests shorten it).
	writeTimeout time.Duration
}

// Server is a running TURN server.
type Server struct {
	cfg    Config
	secret []byte
	log    *slog.Logger
	port   int
	turn   *pionturn.Server
	tcp    net.Listener

	mu      sync.Mutex
	total   int
	perUser map[string]int
	// tcpConns are the TURN-over-TCP connections by client address, for
	// pion's allocation events to find theirs.
	tcpConns map[netip.AddrPort]*limitedConn
	// pending counts the TCP connections without an allocation by source
	// (sourceKey); a source is deleted when it has none.
	pending    map[netip.Addr]int
	maxPending int // perSourceCap(MaxAllocations)
}

// New listens on cfg.Port (UDP and TCP) and starts serving.
func New(cfg Config) (*Server, error) {
	if cfg.Peers == nil {
		return nil, errors.New("turn: no peers to relay to")
	}
	if cfg.Realm == "" {
		cfg.Realm = "kaigi"
	}
	if cfg.MaxAllocations == 0 {
		cfg.MaxAllocations = DefaultMaxAllocations
	}
	if cfg.PerCredential == 0 {
		cfg.PerCredential = DefaultPerCredential
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.allocateTimeout == 0 {
		cfg.allocateTimeout = defaultAllocateTimeout
	}
	if cfg.writeTimeout == 0 {
		cfg.writeTimeout = tcpWriteTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if (cfg.RelayPortMin == 0) != (cfg.RelayPortMax == 0) || cfg.RelayPortMin > cfg.RelayPortMax {
		return nil, fmt.Errorf("turn: relay ports %d-%d are not a range", cfg.RelayPortMin, cfg.RelayPortMax)
	}
	if len(cfg.RelayIPs) == 0 {
		cfg.RelayIPs = HostIPs()
	}
	relays := map[string]relayIP{}
	for _, ip := range cfg.RelayIPs {
		ip = ip.Unmap()
		network, bind := "udp4", netip.IPv4Unspecified()
		if ip.Is6() {
			network, bind = "udp6", netip.IPv6Unspecified()
		}
		if !cfg.BindAny {
			bind = ip
		}
		if _, dup := relays[network]; !dup {
			relays[network] = relayIP{bind: bind, advertise: ip}
		}
	}
	if len(relays) == 0 {
		return nil, errors.New("turn: no relay address")
	}

	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "turn"), perUser: map[string]int{},
		tcpConns: map[netip.AddrPort]*limitedConn{}, pending: map[netip.Addr]int{}, maxPending: perSourceCap(cfg.MaxAllocations)}
	s.secret = make([]byte, 32)
	if _, err := rand.Read(s.secret); err != nil {
		return nil, err
	}
	udp, err := s.listen()
	if err != nil {
		return nil, err
	}
	gen := &relayGenerator{srv: s, relays: relays}
	logs := pionLogs{log: s.log}
	s.turn, err = pionturn.NewServer(pionturn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   s.authenticate,
		QuotaHandler:  s.quota,
		LoggerFactory: logs,
		EventHandler: pionturn.EventHandler{
			OnAllocationCreated: func(client, _ net.Addr, _, _, _ string, _ net.Addr, _ int) {
				s.allocationEvent(client, true)
			},
			OnAllocationDeleted: func(client, _ net.Addr, _, _, _ string) { s.allocationEvent(client, false) },
		},
		PacketConnConfigs: []pionturn.PacketConnConfig{{
			PacketConn: udp, RelayAddressGenerator: gen, PermissionHandler: s.permit,
		}},
		ListenerConfigs: []pionturn.ListenerConfig{{
			Listener:              &limitedListener{Listener: s.tcp, srv: s, slots: make(chan struct{}, cfg.MaxAllocations)},
			RelayAddressGenerator: gen, PermissionHandler: s.permit,
		}},
	})
	if err != nil {
		udp.Close()
		s.tcp.Close()
		return nil, fmt.Errorf("turn: %w", err)
	}
	s.log.Info("TURN server listening", "port", s.port, "relays", cfg.RelayIPs)
	return s, nil
}

// listen opens the TCP listener and the UDP socket on one port.
func (s *Server) listen() (net.PacketConn, error) {
	var lastErr error
	for range 10 {
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{Port: s.cfg.Port})
		if err != nil {
			return nil, fmt.Errorf("turn: listen on TCP port %d: %w", s.cfg.Port, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		udp, err := net.ListenUDP("udp", &net.UDPAddr{Port: port})
		if err == nil {
			s.tcp, s.port = ln, port
			return udp, nil
		}
		ln.Close()
		lastErr = err
		if s.cfg.Port != 0 {
			break // a chosen port is busy; a picked one may be tried again
		}
	}
	return nil, fmt.Errorf("turn: listen on UDP port: %w", lastErr)
}

// Port is the TURN port (UDP and TCP).
func (s *Server) Port() int { return s.port }

// Lifetime is how long credentials can open allocations.
func (s *Server) Lifetime() time.Duration { return s.cfg.Lifetime }

// Close stops the server and every relay.
func (s *Server) Close() error { return s.turn.Close() }

// Credentials returns a fresh username and password for a participant,
// good for opening allocations until Lifetime from now.
func (s *Server) Credentials(participant string) (username, password string) {
	expiry := s.cfg.Now().Add(s.cfg.Lifetime).Unix()
	username = strconv.FormatInt(expiry, 10) + ":" + participant
	return username, s.password(username)
}

func (s *Server) password(username string) string {
	mac := hmac.New(sha1.New, s.secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// authenticate gives pion the key for a username it will then check the
// request's MESSAGE-INTEGRITY with: a forged username fails there, since
// only this server can make its password. Allocate needs an unexpired
// credential; refreshing an existing allocation (and its permissions and
// channels) is allowed for MaxRefreshAge after expiry.
func (s *Server) authenticate(ra *pionturn.RequestAttributes) (string, []byte, bool) {
	if ra.Realm != s.cfg.Realm {
		return "", nil, false
	}
	expiry, participant, ok := strings.Cut(ra.Username, ":")
	t, err := strconv.ParseInt(expiry, 10, 64)
	if !ok || err != nil || participant == "" {
		s.log.Debug("TURN username refused", "src", ra.SrcAddr)
		return "", nil, false
	}
	now := s.cfg.Now().Unix()
	limit := int64(0)
	if ra.Method != stun.MethodAllocate {
		limit = int64(MaxRefreshAge / time.Second)
	}
	if now > t+limit || t > now+int64(s.cfg.Lifetime/time.Second)+60 {
		s.log.Debug("TURN credential expired", "src", ra.SrcAddr, "method", ra.Method.String())
		return "", nil, false
	}
	return ra.Username, pionturn.GenerateAuthKey(ra.Username, ra.Realm, s.password(ra.Username)), true
}

// quota refuses a new allocation (486) past the limits; the relay
// generator enforces them again when it opens the relay.
func (s *Server) quota(username, _ string, _ net.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total < s.cfg.MaxAllocations && s.perUser[username] < s.cfg.PerCredential
}

func (s *Server) reserve(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.cfg.MaxAllocations || s.perUser[user] >= s.cfg.PerCredential {
		return false
	}
	s.total++
	s.perUser[user]++
	return true
}

func (s *Server) release(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.perUser[user]--; s.perUser[user] <= 0 {
		delete(s.perUser, user)
	}
}

// Allocations is how many relays are open.
func (s *Server) Allocations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// permit lets a client add a permission (or channel) only for an address
// of the SFU's media sockets.
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	ip, ok := netip.AddrFromSlice(peer)
	if ok && s.cfg.Peers.MediaIP(ip.Unmap()) {
		return true
	}
	s.log.Debug("TURN permission refused: not a media address of this server", "client", client.String(), "peer", peer.String())
	return false
}

var (
	errNotAPeer     = errors.New("turn: relaying only to this server's media addresses")
	errNoTCPRelay   = errors.New("turn: TCP relays are not offered")
	errNoFamily     = errors.New("turn: no relay address of that family")
	errQuota        = errors.New("turn: allocation quota reached")
	errNoRelayPorts = errors.New("turn: no free relay port")
)

type relayIP struct{ bind, advertise netip.Addr }

// relayGenerator opens relays: UDP only, on the relay address of the
// client's family, in the port range, within the quotas, and filtered to
// the SFU's media sockets.
type relayGenerator struct {
	srv    *Server
	relays map[string]relayIP
}

func (g *relayGenerator) Validate() error { return nil }

func (g *relayGenerator) AllocatePacketConn(conf pionturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	r, ok := g.relays[conf.Network]
	if !ok {
		return nil, nil, errNoFamily
	}
	if conf.RequestedPort != 0 {
		return nil, nil, errors.New("turn: a requested relay port is not offered")
	}
	if !g.srv.reserve(conf.UserID) {
		return nil, nil, errQuota
	}
	conn, err := g.listen(conf.Network, r.bind)
	if err != nil {
		g.srv.release(conf.UserID)
		return nil, nil, err
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	f := &peerFilter{PacketConn: conn, peers: g.srv.cfg.Peers, release: func() { g.srv.release(conf.UserID) }}
	return f, net.UDPAddrFromAddrPort(netip.AddrPortFrom(r.advertise, uint16(port))), nil
}

func (g *relayGenerator) listen(network string, bind netip.Addr) (*net.UDPConn, error) {
	lo, hi := g.srv.cfg.RelayPortMin, g.srv.cfg.RelayPortMax
	if lo == 0 {
		return net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(bind, 0)))
	}
	n := int(hi-lo) + 1
	start := int(randUint32() % uint32(n))
	for i := range n {
		port := lo + uint16((start+i)%n)
		conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(bind, port)))
		if err == nil {
			return conn, nil
		}
	}
	return nil, errNoRelayPorts
}

func (g *relayGenerator) AllocateListener(pionturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errNoTCPRelay
}

func (g *relayGenerator) AllocateConn(pionturn.AllocateConnConfig) (net.Conn, error) {
	return nil, errNoTCPRelay
}

// peerFilter is a relay socket that sends only to the SFU's media sockets
// and drops whatever else arrives (pion's permissions are per address;
// this also checks the port).
type peerFilter struct {
	net.PacketConn
	peers   Peers
	once    sync.Once
	release func()
}

func (f *peerFilter) allowed(a net.Addr) bool {
	ua, ok := a.(*net.UDPAddr)
	return ok && f.peers.MediaAddr(ua.AddrPort())
}

func (f *peerFilter) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !f.allowed(addr) {
		return 0, errNotAPeer
	}
	return f.PacketConn.WriteTo(p, addr)
}

func (f *peerFilter) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := f.PacketConn.ReadFrom(p)
		if err != nil || f.allowed(addr) {
			return n, addr, err
		}
	}
}

func (f *peerFilter) Close() error {
	f.once.Do(f.release)
	return f.PacketConn.Close()
}

// limitedListener caps the TCP connections open at once, and those without
// an allocation from one source (see maxPendingPerSource); one more is
// accepted and closed at once. A connection is kept only while it has an
// allocation, which is what TURN over TCP is for: allocateTimeout after it
// was accepted or after its allocation went away, it is closed, whatever it
// sends meanwhile (nothing, part of a frame, or unauthenticated Binding
// requests, which would otherwise hold a place for ever). One with an
// allocation is closed after 10 minutes idle (browsers refresh allocations
// and permissions every few minutes). A write to a connection may wait at
// most writeTimeout (see limitedConn.Write). Accept errors that pass are
// retried: pion stops serving TCP on the first one it sees.
type limitedListener struct {
	net.Listener
	srv   *Server
	slots chan struct{}
}

const (
	// defaultAllocateTimeout is how long a TCP connection may go without
	// an allocation: a browser allocates within a few round trips of
	// connecting.
	defaultAllocateTimeout = 10 * time.Second
	idleTimeout            = 10 * time.Minute
	// maxPendingPerSource is how many TCP connections without an
	// allocation one source (sourceKey) may have open at once; more are
	// closed as soon as they are accepted. Without it one host with no
	// credential holds every place by reconnecting, each connection for
	// allocateTimeout: about 100 connections a second. A browser's
	// connection is without an allocation only for the round trips of its
	// Allocate (answered 401, then sent again with the credential), so
	// even an office of people behind one NAT address, joining a meeting
	// together, has a few at once; 16 leaves them room while one host
	// holds at most 16 of the 1000 places by default. See perSourceCap
	// for servers with few places.
	maxPendingPerSource = 16
	// tcpWriteTimeout is the longest a write to a TURN-over-TCP client may
	// wait for room in the socket's send buffer. Writes are at most one
	// relayed packet; a client whose kernel buffers have stayed full this
	// long is not reading (or its network cannot carry the media at all).
	tcpWriteTimeout = 5 * time.Second
)

func (l *limitedListener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			time.Sleep(backoff) // e.g. out of file descriptors
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if lc := l.srv.addConn(c, l.slots); lc != nil {
			return lc, nil
		}
		c.Close()
	}
}

// perSourceCap is how many TCP connections without an allocation one
// source may have open at once on a server with maxAllocations TCP places:
// maxPendingPerSource, but at most half the places (and at least one), so
// that one host cannot hold them all on a server configured with few.
func perSourceCap(maxAllocations int) int {
	return min(maxPendingPerSource, max(1, maxAllocations/2))
}

// sourceKey is the source a TCP client's connections without an
// allocation are counted by: its IPv4 address, or the /64 of its IPv6
// address (one host commonly has a whole /64, and picks a new address in
// it at will).
func sourceKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64) // cannot fail for 64 bits of an IPv6 address
		return p.Addr()
	}
	return ip
}

// limitedConn is one TURN-over-TCP connection. pion reads it from the
// connection's own goroutine and writes it from two: that one (replies)
// and the allocation's relay goroutine (media from the SFU).
type limitedConn struct {
	net.Conn
	srv    *Server
	slots  chan struct{}
	remote netip.AddrPort
	once   sync.Once

	// allocated is set while the connection has an allocation (pion
	// allows one per connection), unallocated is when it last had none
	// (unix nanoseconds); both are set from pion's allocation events,
	// allocated under srv.mu (it says whether the connection counts in
	// srv.pending).
	allocated   atomic.Bool
	unallocated atomic.Int64
	rdeadline   time.Time // the read deadline set last; read goroutine only

	wmu      sync.Mutex
	deadline time.Time // the write deadline set last; guarded by wmu
}

// Read is given until allocateTimeout after the connection last had no
// allocation, or idleTimeout if it has one. Like the write deadline, the
// idle deadline is moved only when less than 3/4 of it is left.
func (c *limitedConn) Read(p []byte) (int, error) {
	var d time.Time
	if c.allocated.Load() {
		now := time.Now()
		if c.rdeadline.Sub(now) >= idleTimeout*3/4 {
			return c.Conn.Read(p)
		}
		d = now.Add(idleTimeout)
	} else {
		d = time.Unix(0, c.unallocated.Load()).Add(c.srv.cfg.allocateTimeout)
	}
	if !d.Equal(c.rdeadline) {
		c.rdeadline = d
		if err := c.Conn.SetReadDeadline(d); err != nil {
			return 0, fmt.Errorf("turn: TCP client %v: %w", c.remote, err)
		}
	}
	return c.Conn.Read(p)
}

// Write waits at most writeTimeout for the client to make room: without a
// bound, a client that stops reading would hold pion's relay goroutine
// (blocked writing its media) and its read loop (blocked at its next reply,
// so the idle timeout never fires) and with them its allocation, its TCP
// place and the kernel's send buffer, for as long as it keeps the
// connection open. A write that fails closes the connection: part of a
// frame may have gone out, and the stream can no longer be framed.
//
// The deadline is moved only when less than 3/4 of writeTimeout is left,
// not on every packet, so a write waits between 3/4 writeTimeout and
// writeTimeout before it fails. The mutex keeps the two writers from
// pushing each other's deadline out; the socket serializes their writes
// anyway.
func (c *limitedConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	timeout := c.srv.cfg.writeTimeout
	if now := time.Now(); c.deadline.Sub(now) < timeout*3/4 {
		c.deadline = now.Add(timeout)
		if err := c.Conn.SetWriteDeadline(c.deadline); err != nil {
			c.Close()
			return 0, fmt.Errorf("turn: TCP client %v: %w", c.remote, err)
		}
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// At debug: a client can cause it at will, once per connection.
			c.srv.log.Debug("TURN-over-TCP client not reading: connection closed", "client", c.remote.String(), "wait", timeout)
		}
		return n, fmt.Errorf("turn: TCP client %v: %w", c.remote, err)
	}
	return n, nil
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.srv.removeConn(c)
		<-c.slots
	})
	return c.Conn.Close()
}

// addConn takes a TCP place for a connection just accepted and counts it
// as pending for its source, or returns nil (the connection is to be
// closed) if there is no free place or its source has too many pending.
func (s *Server) addConn(c net.Conn, slots chan struct{}) *limitedConn {
	remote := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	src := sourceKey(remote.Addr())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[src] >= s.maxPending {
		return nil
	}
	select {
	case slots <- struct{}{}:
	default:
		return nil
	}
	s.pending[src]++
	lc := &limitedConn{Conn: c, srv: s, slots: slots, remote: remote}
	lc.unallocated.Store(time.Now().UnixNano())
	s.tcpConns[remote] = lc
	return lc
}

func (s *Server) removeConn(c *limitedConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcpConns[c.remote] != c {
		return
	}
	delete(s.tcpConns, c.remote)
	if !c.allocated.Load() {
		s.unpend(c.remote.Addr())
	}
}

// unpend counts one connection from ip no longer pending; s.mu is held.
func (s *Server) unpend(ip netip.Addr) {
	src := sourceKey(ip)
	if s.pending[src]--; s.pending[src] <= 0 {
		delete(s.pending, src)
	}
}

// allocationEvent marks the TCP connection an allocation was made or
// deleted on (UDP clients are not tracked).
func (s *Server) allocationEvent(client net.Addr, allocated bool) {
	a, ok := client.(*net.TCPAddr)
	if !ok {
		return
	}
	s.mu.Lock()
	c := s.tcpConns[a.AddrPort()]
	if c == nil || c.allocated.Load() == allocated {
		s.mu.Unlock()
		return // already closed, or told already
	}
	if allocated {
		s.unpend(c.remote.Addr())
		c.allocated.Store(true)
		s.mu.Unlock()
		return
	}
	// Pending again, until it allocates or is closed allocateTimeout from
	// now. unallocated first: a Read that sees allocated false must not
	// take an old time and time out at once.
	s.pending[sourceKey(c.remote.Addr())]++
	now := time.Now()
	c.unallocated.Store(now.UnixNano())
	c.allocated.Store(false)
	s.mu.Unlock()
	// A read may be waiting under the idle deadline (the allocation
	// expired, or went with its relay socket): shorten it now. (A Read
	// starting at this moment may still put the idle deadline back; it
	// then waits at most idleTimeout, as any idle connection does.)
	c.Conn.SetReadDeadline(now.Add(s.cfg.allocateTimeout))
}

// HostIPs are the host's first non-loopback address of each family
// (global unicast), or 127.0.0.1 if it has none.
func HostIPs() []netip.Addr {
	var v4, v6 netip.Addr
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil || !p.Addr().IsGlobalUnicast() {
			continue
		}
		ip := p.Addr().Unmap()
		switch {
		case ip.Is4() && !v4.IsValid():
			v4 = ip
		case ip.Is6() && !v6.IsValid():
			v6 = ip
		}
	}
	var out []netip.Addr
	for _, ip := range []netip.Addr{v4, v6} {
		if ip.IsValid() {
			out = append(out, ip)
		}
	}
	if len(out) == 0 {
		out = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	return out
}

func randUint32() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// pionLogs sends pion/turn's logs to slog at debug level, whatever pion's
// level: most of them are about what clients sent, and a client must not
// be able to flood the server's log.
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{p.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) debugf(f string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(f, args...))
	}
}

func (l pionLogger) Trace(string)                 {}
func (l pionLogger) Tracef(string, ...any)        {}
func (l pionLogger) Debug(string)                 {}
func (l pionLogger) Debugf(string, ...any)        {}
func (l pionLogger) Info(msg string)              { l.log.Debug(msg) }
func (l pionLogger) Infof(f string, args ...any)  { l.debugf(f, args...) }
func (l pionLogger) Warn(msg string)              { l.log.Debug(msg) }
func (l pionLogger) Warnf(f string, args ...any)  { l.debugf(f, args...) }
func (l pionLogger) Error(msg string)             { l.log.Debug(msg) }
func (l pionLogger) Errorf(f string, args ...any) { l.debugf(f, args...) }
