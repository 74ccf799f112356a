package sfu

import (
	"io"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/transport/v5/packetio"
	"github.com/pion/webrtc/v4"
)

// A subscriber's feedback about its tracks (NACKs, picture loss, REMB,
// receiver reports) is handled where pion's SRTCP session decrypts it,
// one goroutine per PeerConnection, instead of being queued per
// DownTrack for a reader goroutine of its own (RTPSender.ReadRTCP). In a
// meeting where everyone publishes, each participant receives two tracks
// from everyone else: at 10 people that was 18 reader goroutines (their
// stacks, and a 1.5 KiB read buffer each held while waiting) and 18
// packet buffers per participant.
//
// pion lets a PeerConnection choose the buffer of each SRTCP read stream
// (SettingEngine.BufferFactory). The SFU gives each participant's
// PeerConnection its own factory: for the SSRC of one of its DownTracks
// it returns an rtcpSink, whose Write hands the packets to that
// DownTrack at once; for anything else (the RTCP about what the
// participant publishes, read by layer.drainRTCP, and all RTP) the
// buffer pion would have made.
//
// Relays (relay*.go) and WHIP sources keep the SFU's shared API, without a
// factory: their senders' RTCP is read by their own readers. A factory
// changes one more thing in pion: a repair (RTX) stream is then not read
// before its track is; the SFU negotiates no RTX. The relay test's
// failures that reverted this once (faeeb9e) were a race of the test's
// own client (TestClientOfferWhenItsPeerIsRemoved).

// rtcpRoutes maps the SSRCs a peer sends with to their DownTracks.
type rtcpRoutes struct {
	downs sync.Map // uint32 → *DownTrack
}

func (r *rtcpRoutes) add(ssrc uint32, d *DownTrack) { r.downs.Store(ssrc, d) }
func (r *rtcpRoutes) remove(ssrc uint32)            { r.downs.Delete(ssrc) }

// buffer is the PeerConnection's SettingEngine.BufferFactory.
func (r *rtcpRoutes) buffer(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	if kind == packetio.RTCPBufferPacket {
		if _, ok := r.downs.Load(ssrc); ok {
			return &rtcpSink{routes: r, ssrc: ssrc, closed: make(chan struct{})}
		}
	}
	// What pion/srtp makes when no factory is set.
	b := packetio.NewBuffer()
	if kind == packetio.RTCPBufferPacket {
		b.SetLimitSize(100 * 1000)
	} else {
		b.SetLimitSize(1000 * 1000)
	}
	return &packetBuffer{b}
}

// rtcpSink takes a DownTrack's RTCP and handles it as it is written.
// Nothing reads it: its Read waits until it is closed.
type rtcpSink struct {
	routes *rtcpRoutes
	ssrc   uint32
	once   sync.Once
	closed chan struct{}
}

// Write handles one RTCP packet for the sink's SSRC; pion calls it from
// the SRTCP session's read loop with a buffer it reuses, which is not
// kept. A packet that does not parse, or for a DownTrack since removed,
// is dropped.
func (s *rtcpSink) Write(b []byte) (int, error) {
	v, ok := s.routes.downs.Load(s.ssrc)
	if !ok {
		return len(b), nil
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return len(b), nil
	}
	v.(*DownTrack).handleRTCP(pkts)
	return len(b), nil
}

func (s *rtcpSink) Read([]byte) (int, error) {
	<-s.closed
	return 0, io.EOF
}

func (s *rtcpSink) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// packetBuffer is a packetio.Buffer as pion/srtp wraps its own: an
// io.ReadWriter, and packets' attributes kept alongside.
type packetBuffer struct{ *packetio.Buffer }

func (b *packetBuffer) Read(p []byte) (int, error) {
	n, _, err := b.Buffer.Read(p, nil)
	return n, err
}

func (b *packetBuffer) Write(p []byte) (int, error) { return b.Buffer.Write(p, nil) }

func (b *packetBuffer) ReadWithAttributes(p []byte, a packetio.Attributes) (int, packetio.Attributes, error) {
	return b.Buffer.Read(p, a)
}

func (b *packetBuffer) WriteWithAttributes(p []byte, a packetio.Attributes) (int, error) {
	return b.Buffer.Write(p, a)
}

// newPeerConnectionWithRoutes creates a participant's PeerConnection with
// the SFU's settings, its DownTracks' RTCP handled through routes.
func (s *SFU) newPeerConnectionWithRoutes(routes *rtcpRoutes) (*webrtc.PeerConnection, error) {
	se := s.settings
	se.BufferFactory = routes.buffer
	api := webrtc.NewAPI(
		webrtc.WithMediaEngine(s.media),
		webrtc.WithInterceptorRegistry(s.interceptors),
		webrtc.WithSettingEngine(se),
	)
	return api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
}

// senderSSRC is the SSRC a sender sends with (one encoding: the SFU
// sends no simulcast).
func senderSSRC(s *webrtc.RTPSender) uint32 {
	if e := s.GetParameters().Encodings; len(e) > 0 {
		return uint32(e[0].SSRC)
	}
	return 0
}
