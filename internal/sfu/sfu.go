package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// Config configures the SFU's WebRTC transport. The zero value gathers host
// candidates on every interface with ephemeral UDP ports.
type Config struct {
	// PublicIPs are advertised instead of the host's own addresses, for a
	// server behind a 1:1 NAT.
	PublicIPs []string
	// UDPPort, if not zero, carries all media on this one UDP port.
	UDPPort int
	// UDPPortMin and UDPPortMax, if not zero, bound the ephemeral ports.
	UDPPortMin, UDPPortMax uint16
	// IncludeLoopback offers 127.0.0.1 candidates, so a browser on the same
	// machine can connect with no other network. LoopbackAuto, if set,
	// decides instead, at start: loopback candidates only when the host
	// has no other address to offer (gather.go, loopbackNeeded).
	IncludeLoopback bool
	LoopbackAuto    bool
	// ICETCP offers passive ICE-TCP candidates on TCPPort (0: a free port
	// picked at start), for browsers whose network blocks UDP.
	ICETCP  bool
	TCPPort int
	// Interfaces, if not empty, are the only network interfaces (by
	// name) whose addresses are offered, besides loopback as
	// IncludeLoopback says. NoIPv6 offers IPv4 addresses only. Every
	// candidate costs each PeerConnection a socket or TCP mux entry, a
	// goroutine and a read buffer, used or not.
	Interfaces []string
	NoIPv6     bool
	// Send is how forwarded media is handed to the kernel: the zero
	// value batches it (UDP GSO and sendmmsg where the kernel takes
	// them, checked at start); SendPlain sends a packet at a time.
	Send SendMode
	// PionSRTP has pion's write chain (interceptors, SRTP session)
	// encrypt participants' forwarded media, as before the SFU did it
	// itself (srtpout.go); for comparison, and a way back.
	PionSRTP bool
	// Logger receives the SFU's logs; nil means slog.Default().
	Logger *slog.Logger
}

// SFU holds the WebRTC configuration shared by every meeting's router and
// counts what it forwards.
type SFU struct {
	api    *webrtc.API
	log    *slog.Logger
	udpMux ice.UDPMux
	tcpMux ice.TCPMux
	tcp    *tcpListener // the ICE-TCP listener, as tcpMux sees it
	owned  *ownedNet
	// batch queues forwarded media while UpTrack.send fans a frame out;
	// nil on the plain path.
	batch *batcher
	// loopback: loopback candidates are offered.
	loopback bool
	// ownSRTP: participants' forwarded RTP is encrypted by the SFU
	// (srtpout.go), not by pion's write chain.
	ownSRTP bool

	// What api was made of, for participants' PeerConnections, each
	// made with an RTCP buffer factory of its own (rtcpsink.go), and
	// without pion's sender reports: the SFU sends its own
	// (srtpout.go), counting what it writes whoever encrypts it.
	settings     webrtc.SettingEngine
	media        *webrtc.MediaEngine
	interceptors *interceptor.Registry

	forwardedPackets atomic.Uint64
	forwardedBytes   atomic.Uint64
}

// Stats are totals since the SFU started.
type Stats struct {
	ForwardedPackets uint64 // RTP packets sent to subscribers
	ForwardedBytes   uint64 // their RTP payload and header bytes, before SRTP
	// Batched sends (0 on the plain path): datagrams the kernel took from
	// batches, the system calls that sent them, and datagrams a batch
	// could not send (the kernel refused them or the socket had closed).
	BatchedDatagrams uint64
	BatchSyscalls    uint64
	BatchSendErrors  uint64
}

// New builds an SFU from cfg.
func New(cfg Config) (*SFU, error) {
	s := &SFU{log: cfg.Logger, loopback: cfg.IncludeLoopback}
	if s.log == nil {
		s.log = slog.Default()
	}
	narrow := only{interfaces: cfg.Interfaces, noIPv6: cfg.NoIPv6}
	if cfg.LoopbackAuto {
		s.loopback = narrow.autoLoopback(s.log)
	}

	media := &webrtc.MediaEngine{}
	if err := registerCodecs(media); err != nil {
		return nil, fmt.Errorf("register codecs: %w", err)
	}
	logs := pionLogs{log: s.log}
	interceptors, participants, err := newInterceptors(media, logs)
	if err != nil {
		return nil, fmt.Errorf("register interceptors: %w", err)
	}
	s.ownSRTP = !cfg.PionSRTP
	if err := checkPionSRTP(); err != nil && s.ownSRTP {
		s.ownSRTP = false
		s.log.Warn("sfu: forwarded media is encrypted by pion's write chain, not in place", "err", err)
	}

	var se webrtc.SettingEngine
	se.LoggerFactory = logs
	se.SetIncludeLoopbackCandidate(s.loopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(usefulAddr) // see gather.go
	if len(cfg.Interfaces) > 0 {
		se.SetInterfaceFilter(narrow.iface)
		for _, name := range cfg.Interfaces {
			if _, err := net.InterfaceByName(name); err != nil {
				s.log.Warn("sfu: webrtc.interfaces lists an interface this host does not have (yet); no candidates on it", "interface", name)
			}
		}
	}
	var public []netip.Addr
	if len(cfg.PublicIPs) > 0 {
		for _, ip := range cfg.PublicIPs {
			a, err := netip.ParseAddr(ip)
			if err != nil {
				return nil, fmt.Errorf("public IP %q: %w", ip, err)
			}
			public = append(public, a.Unmap())
		}
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
		})
		if err != nil {
			return nil, fmt.Errorf("public IPs: %w", err)
		}
	}
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	mode, why := probeSend(cfg.Send, s.log)
	s.log.Info("sfu: forwarded media is sent with "+mode.String(), "asked", cfg.Send.String(), "why", why)
	if mode != SendPlain {
		s.batch = newBatcher(mode, s.log)
	}
	s.owned = newOwnedNet(std, public, s.batch)
	se.SetNet(s.owned)
	switch {
	case cfg.UDPPort != 0 && (cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0):
		return nil, errors.New("set either a single UDP port or a UDP port range, not both")
	case cfg.UDPPort != 0:
		conn, err := net.ListenUDP("udp", &net.UDPAddr{Port: cfg.UDPPort})
		if err != nil {
			return nil, fmt.Errorf("listen on UDP port %d: %w", cfg.UDPPort, err)
		}
		// One socket for everyone, read by one goroutine: its receive
		// queue, not batching, was where joins were lost at 1→200
		// (BENCHMARKS.md); it gets room for seconds of everyone's
		// packets. Batched as the sockets per candidate are.
		growBuffers(conn, s.log)
		s.udpMux = filteredUDPMux{UDPMux: webrtc.NewICEUDPMux(nil, s.owned.add(conn)), loopback: s.loopback, only: narrow}
		se.SetICEUDPMux(s.udpMux)
	case cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0:
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, fmt.Errorf("UDP port range %d-%d: %w", cfg.UDPPortMin, cfg.UDPPortMax, err)
		}
	}
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if !cfg.NoIPv6 {
		networks = append(networks, webrtc.NetworkTypeUDP6)
	}
	if cfg.ICETCP {
		// Passive candidates only: browsers connect to this port. pion
		// offers it on the same addresses as UDP, rewritten to PublicIPs
		// and with loopback as configured, and drops a connection that
		// sends no ICE check within 30 seconds. Its connections are the
		// SFU's (tcp.go): their writes never wait for the peer, so pion
		// gets no write queue of its own (webrtc.NewICETCPMux's 4 MiB).
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{Port: cfg.TCPPort})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("listen on TCP port %d: %w", cfg.TCPPort, err)
		}
		s.tcp = newTCPListener(ln, s.log)
		s.tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: s.tcp, Logger: logs.NewLogger("ice-tcp"), ReadBufferSize: 8})
		se.SetICETCPMux(s.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4)
		if !cfg.NoIPv6 {
			networks = append(networks, webrtc.NetworkTypeTCP6)
		}
	}
	se.SetNetworkTypes(networks)
	// AES-GCM first: cheaper than AES-CM with HMAC-SHA1 on any CPU with
	// AES instructions, and browsers offer it.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)

	s.settings, s.media, s.interceptors = se, media, participants
	s.api = webrtc.NewAPI(
		webrtc.WithMediaEngine(media),
		webrtc.WithInterceptorRegistry(interceptors),
		webrtc.WithSettingEngine(se),
	)
	return s, nil
}

// Close releases the SFU's shared sockets. Routers must be closed first.
func (s *SFU) Close() error {
	if s.batch != nil {
		st := s.Stats()
		level := slog.LevelInfo
		if st.BatchSendErrors > 0 {
			level = slog.LevelWarn
		}
		s.log.Log(context.Background(), level, "sfu: batched sends", "datagrams", st.BatchedDatagrams,
			"syscalls", st.BatchSyscalls, "lost", st.BatchSendErrors)
	}
	var errs []error
	if s.udpMux != nil {
		errs = append(errs, s.udpMux.Close())
	}
	if s.tcpMux != nil {
		errs = append(errs, s.tcpMux.Close()) // closes the listener
	}
	return errors.Join(errs...)
}

// TCPPort is the ICE-TCP port, or 0 when ICE-TCP is off.
func (s *SFU) TCPPort() int {
	if s.tcp == nil {
		return 0
	}
	return s.tcp.Addr().(*net.TCPAddr).Port
}

// MediaIP reports whether ip is an address of the SFU's open UDP media
// sockets as clients are told it. The embedded TURN server relays only to
// such addresses.
func (s *SFU) MediaIP(ip netip.Addr) bool { return s.owned.ownsIP(ip, s.loopback) }

// MediaAddr reports whether addr is one of the SFU's open UDP media
// sockets (address and port) as clients are told it.
func (s *SFU) MediaAddr(addr netip.AddrPort) bool { return s.owned.owns(addr) }

// Stats returns what the SFU has forwarded since it started.
func (s *SFU) Stats() Stats {
	sent, calls, failed := s.batch.stats()
	return Stats{
		ForwardedPackets: s.forwardedPackets.Load(),
		ForwardedBytes:   s.forwardedBytes.Load(),
		BatchedDatagrams: sent,
		BatchSyscalls:    calls,
		BatchSendErrors:  failed,
	}
}

// audioLevelURI is the RTP header extension carrying a packet's audio level
// (RFC 6464). It is forwarded so clients can show who is speaking without
// decrypting anything.
const audioLevelURI = sdp.AudioLevelURI

// registerCodecs offers Opus for audio and VP8 for video. One codec per kind
// keeps forwarding simple: every subscriber can take what every publisher
// sends, with no transcoding (which end-to-end encryption rules out anyway).
func registerCodecs(m *webrtc.MediaEngine) error {
	// NACK, PLI and transport-cc feedback are added by newInterceptors.
	videoFeedback := []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBGoogREMB},
	}
	codecs := []struct {
		params webrtc.RTPCodecParameters
		kind   webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine: "minptime=10;useinbandfec=1",
			},
			PayloadType: 111,
		}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback,
			},
			PayloadType: 96,
		}, webrtc.RTPCodecTypeVideo},
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c.params, c.kind); err != nil {
			return err
		}
	}
	for _, uri := range []string{sdp.SDESMidURI} {
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, kind); err != nil {
				return err
			}
		}
	}
	// Simulcast layers are told apart by their RID (RFC 8852).
	for _, uri := range []string{sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio)
}

// newInterceptors keeps only what forwarding needs, all of it per
// publisher track or per RTCP packet rather than per forwarded packet,
// except the sender reports. It returns two registries: all of it, for
// relays, viewers and sources, and all but the sender reports, for
// participants, whose forwarded RTP bypasses pion's chain and whose
// sender reports the SFU sends itself (srtpout.go):
//
//   - NACK generator: asks publishers for packets lost on their uplink.
//     Subscribers' NACKs are answered by the SFU itself from one packet
//     cache per published layer (see packetCache), not by pion's NACK
//     responder, which copies every packet once per subscriber.
//   - RTCP receiver reports to publishers (their browsers adapt to loss)
//     and sender reports to subscribers (browsers need them to keep audio
//     and video in sync).
//   - transport-wide congestion control feedback to publishers, so that
//     their browsers estimate their uplink and choose simulcast layers.
func newInterceptors(m *webrtc.MediaEngine, logs logging.LoggerFactory) (all, participants *interceptor.Registry, err error) {
	all, participants = &interceptor.Registry{}, &interceptor.Registry{}
	add := func(f interceptor.Factory) {
		all.Add(f)
		participants.Add(f)
	}
	generator, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(logs))
	if err != nil {
		return nil, nil, err
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	// The NACK generator, receiver reports and TWCC feedback act on what
	// a peer publishes: they start once it does (see onRemoteStream).
	add(onRemoteStream(generator))
	receiver, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(logs))
	if err != nil {
		return nil, nil, err
	}
	add(onRemoteStream(receiver))
	sender, err := report.NewSenderInterceptor(report.WithSenderLoggerFactory(logs))
	if err != nil {
		return nil, nil, err
	}
	all.Add(sender)
	// What webrtc.ConfigureTWCCSenderWithOptions does, with the
	// interceptor wrapped.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, nil, err
		}
	}
	feedback, err := twcc.NewSenderInterceptor(twcc.WithLoggerFactory(logs))
	if err != nil {
		return nil, nil, err
	}
	add(onRemoteStream(feedback))
	return all, participants, nil
}

// newPeerConnection creates a PeerConnection with the SFU's settings.
func (s *SFU) newPeerConnection() (*webrtc.PeerConnection, error) {
	return s.api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
}
