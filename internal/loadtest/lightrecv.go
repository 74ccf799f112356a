package loadtest

// The light receiver (--receiver light): subscribers that count what they
// receive without pion's receive chain, so that the load generator costs
// less CPU than the server it measures.
//
// Each PeerConnection still does ICE, DTLS and SRTP key agreement in pion,
// through one UDP socket shared by up to lightPerSocket subscribers (pion's
// UDP mux). The socket is read in batches (recvmmsg, golang.org/x/net/ipv4
// ReadBatch) into a large receive buffer. Once a track is known (pion's
// OnTrack, on its first packet), the RTP packets of its SSRC from its
// server address never reach pion: they are decrypted here with the
// connection's own SRTP keys (taken from its DTLS session) and counted
// like any other (trackStats.observe). STUN, DTLS, RTCP and each track's
// first packets go to pion as before.
//
// What differs from the browser-like receiver: no interceptors, so the
// subscriber sends no NACKs (a lost packet stays lost: loss is what the
// server's forwarding and the kernel dropped, unrepaired) and no receiver
// reports; a packet that fails SRTP authentication is dropped and so
// counted as lost.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
	"golang.org/x/net/ipv4"
)

// The receivers.
const (
	BrowserReceiver = "browser" // pion's full receive chain, with NACKs and reports
	LightReceiver   = "light"   // batched reads, SRTP decrypted and counted here
)

// lightPerSocket is how many subscribers share one socket (and one reading
// goroutine); lightBatch how many packets one recvmmsg reads at most.
const (
	lightPerSocket = 64
	lightBatch     = 64
	lightRcvBuf    = 16 << 20 // asked for; the kernel caps it at net.core.rmem_max
)

// lightSocket is one shared UDP socket: pion's ICE mux reads what this
// does not take (ReadFrom), media is counted in the reading goroutine.
type lightSocket struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn
	api  *webrtc.API
	mux  ice.UDPMux

	mu    sync.RWMutex
	peers map[netip.AddrPort]*lightPeer // by the server's address

	// The batch being handed out, owned by the goroutine in ReadFrom
	// (pion's mux has one).
	msgs    []ipv4.Message
	next, n int
	hdr     rtp.Header
	plain   []byte
	taken   atomic.Uint64 // media packets counted here
	failed  atomic.Uint64 // packets that did not decrypt
	users   int           // subscribers given this socket
}

// lightPeer is one subscriber's PeerConnection as seen from the socket.
type lightPeer struct {
	// ctx decrypts what the server sends; until the first packet decrypts,
	// the two candidates (which end of DTLS was the client) are tried.
	ctx        *srtp.Context
	candidates [2]*srtp.Context
	tracks     map[uint32]func([]byte) // by SSRC
}

// lightReceivers hands out sockets, lightPerSocket subscribers each.
type lightReceivers struct {
	mu      sync.Mutex
	sockets []*lightSocket
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
	lr.sockets = append(lr.sockets, s)
	return s.api, s, nil
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

func (lr *lightReceivers) close() {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	for _, s := range lr.sockets {
		_ = s.mux.Close()
		_ = s.conn.Close()
	}
	lr.sockets = nil
}

func newLightSocket() (*lightSocket, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(lightRcvBuf)
	s := &lightSocket{conn: conn, pc: ipv4.NewPacketConn(conn), peers: map[netip.AddrPort]*lightPeer{},
		msgs: make([]ipv4.Message, lightBatch), plain: make([]byte, 1500)}
	for i := range s.msgs {
		s.msgs[i].Buffers = [][]byte{make([]byte, 1500)}
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

// ReadFrom implements net.PacketConn for pion's mux: the next packet the
// light path does not take.
func (s *lightSocket) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		for s.next < s.n {
			m := &s.msgs[s.next]
			s.next++
			b := m.Buffers[0][:m.N]
			addr, _ := m.Addr.(*net.UDPAddr)
			if addr == nil {
				continue
			}
			if s.take(b, addr.AddrPort()) {
				continue
			}
			return copy(p, b), addr, nil
		}
		n, err := s.pc.ReadBatch(s.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		s.next, s.n = 0, n
	}
}

// take counts b if it is RTP of a known track from its server; it reports
// whether it did (pion then never sees the packet).
func (s *lightSocket) take(b []byte, from netip.AddrPort) bool {
	// RTP, not RTCP (RFC 5761: payload types 64-95 with the marker bit are
	// RTCP's 192-223), not STUN or DTLS (first byte below 128).
	if len(b) < 12 || b[0]>>6 != 2 || (b[1]&0x7f >= 64 && b[1]&0x7f < 96) {
		return false
	}
	s.mu.RLock()
	lp := s.peers[netip.AddrPortFrom(from.Addr().Unmap(), from.Port())]
	var observe func([]byte)
	if lp != nil {
		observe = lp.tracks[uint32(b[8])<<24|uint32(b[9])<<16|uint32(b[10])<<8|uint32(b[11])]
	}
	s.mu.RUnlock()
	if observe == nil {
		return false
	}
	var out []byte
	var err error
	if lp.ctx != nil {
		out, err = lp.ctx.DecryptRTP(s.plain[:0], b, &s.hdr)
	} else {
		err = errors.New("no key yet")
		for _, c := range lp.candidates {
			if out, err = c.DecryptRTP(s.plain[:0], b, &s.hdr); err == nil {
				lp.ctx = c // only this goroutine reads and writes it
				break
			}
		}
	}
	if err != nil {
		s.failed.Add(1)
		return true // not authentic (or not ours): dropped, counted as lost
	}
	s.taken.Add(1)
	observe(out)
	return true
}

// register routes the track's RTP to observe from now on.
func (s *lightSocket) register(rt *client.RemoteTrack, observe func([]byte)) error {
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
	lp := s.peers[from]
	if lp == nil {
		cands, err := remoteContexts(dt)
		if err != nil {
			return err
		}
		lp = &lightPeer{candidates: cands, tracks: map[uint32]func([]byte){}}
		s.peers[from] = lp
	}
	lp.tracks[uint32(recv.Track().SSRC())] = observe
	return nil
}

// remoteContexts makes the SRTP contexts that would decrypt what the
// other end sends, one for each DTLS role this end may have had (which
// pion does not say): the first packet tells which.
//
// pion does not export a DTLS transport's session; its conn field is read
// here (load generator only: the version is pinned in go.mod, and
// TestLightReceiverCounts fails if the field goes away).
func remoteContexts(dt *webrtc.DTLSTransport) ([2]*srtp.Context, error) {
	var out [2]*srtp.Context
	f := reflect.ValueOf(dt).Elem().FieldByName("conn")
	if !f.IsValid() || f.Type() != reflect.TypeOf((*dtls.Conn)(nil)) {
		return out, errors.New("pion's DTLSTransport has no conn field of type *dtls.Conn")
	}
	conn := *(**dtls.Conn)(unsafe.Pointer(f.UnsafeAddr()))
	if conn == nil {
		return out, errors.New("DTLS is not up")
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return out, errors.New("no DTLS connection state")
	}
	profile, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return out, errors.New("no SRTP profile negotiated")
	}
	for i, isClient := range []bool{true, false} {
		cfg := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
		if err := cfg.ExtractSessionKeysFromDTLS(&state, isClient); err != nil {
			return out, err
		}
		c, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile)
		if err != nil {
			return out, err
		}
		out[i] = c
	}
	return out, nil
}

// WriteTo, Close, LocalAddr and the deadlines pass to the socket.
func (s *lightSocket) WriteTo(p []byte, addr net.Addr) (int, error) { return s.conn.WriteTo(p, addr) }
func (s *lightSocket) Close() error                                 { return s.conn.Close() }
func (s *lightSocket) LocalAddr() net.Addr                          { return s.conn.LocalAddr() }
func (s *lightSocket) SetDeadline(t time.Time) error                { return s.conn.SetDeadline(t) }
func (s *lightSocket) SetReadDeadline(t time.Time) error            { return s.conn.SetReadDeadline(t) }
func (s *lightSocket) SetWriteDeadline(t time.Time) error           { return s.conn.SetWriteDeadline(t) }
