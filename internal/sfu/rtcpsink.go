package sfu

import (
	"io"
	"sync"
	"sync/atomic"

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
// PeerConnection its own factory: for every SRTCP stream it returns an
// rtcpSink, whose Write handles the packets at once: for the SSRC of one
// of its DownTracks it hands them to that DownTrack; for the SSRC of a
// layer the participant publishes (sender reports) it runs them through
// the layer's RTCP interceptors (the receiver reports need the sender
// reports' times) by reading the receiver from within the Write, the
// read taking the packet being written; anything else is dropped. For
// RTP it returns the buffer pion would have made.
//
// The publisher's side was a goroutine per published layer
// (layer.drainRTCP, still used by peers made without routes), blocked
// in that read with a 1.5 KiB buffer, and a packet buffer grown by
// whatever queued while it waited: 2 goroutines a participant in a
// meeting, and the buffers. An SRTCP stream nobody handles (an SSRC
// announced by neither) no longer queues up to 100 KB unread: pion keeps
// such a stream open, unread, for as long as the PeerConnection lives
// (how many a client can make it open is bounded: maxRTPStreams).
//
// WHIP sources (publisher.go) have routes as participants do. WHEP viewers
// (viewer.go) have routes too, to count their streams, but their
// senders' RTCP goes to pion's buffer for their own readers (reads).
// Relays (relay*.go) keep the SFU's shared API, without a factory: their
// senders' RTCP is read by their own readers, and their streams are not
// counted (a relay is a link between the cluster's own nodes, trusted).
// A factory changes one more thing in pion: a repair (RTX) stream is then not read
// before its track is; the SFU negotiates no RTX. The relay test's
// failures that reverted this once (faeeb9e) were a race of the test's
// own client (TestClientOfferWhenItsPeerIsRemoved).

// rtcpRoutes maps the SSRCs a peer sends with to their DownTracks, and
// those it publishes with to their layers. It also counts the read streams
// pion opens for the peer, and closes a peer that makes it open too many
// (see maxRTPStreams).
type rtcpRoutes struct {
	downs sync.Map // uint32 → *DownTrack
	ups   sync.Map // uint32 → *layer
	// reads are the SSRCs whose RTCP a reader of pion's takes
	// (RTPSender.ReadRTCP): a WHEP viewer's senders (viewer.go). Their
	// streams get the buffer pion would have made.
	reads sync.Map // uint32 → struct{}

	mu sync.Mutex // guards the fields below; taken once per new stream, never per packet
	// rtp are the SSRCs pion opened an SRTP read stream for (at most
	// maxRTPStreams); unknownRTCP counts the SRTCP streams opened for an
	// SSRC that was none of those, nor a DownTrack's, nor a layer's.
	rtp         map[uint32]struct{}
	unknownRTCP int
	// peer is the Peer to close past a bound; set (watch) once its ICE
	// transport starts, before any stream can be opened. over: a bound
	// was passed (and peer closed, or to be closed when watch sets it).
	peer *Peer
	over bool
	// refused counts the streams opened past a bound, before the close
	// took effect (for tests).
	refused int
}

// Bounds on the read streams a participant can make pion open. pion/srtp
// opens one for every SSRC that comes in SRTP, and one for every SSRC an
// SRTCP packet names (each report block, each feedback's media SSRC, up
// to 31 in one receiver report), and keeps each for as long as the
// PeerConnection lives, whether or not anyone reads it: about 280 bytes
// of heap a stream (TestSSRCFloodClosesThePeer logs it), 0.6 KB with the
// SRTCP replay state of a sender report's own SSRC. Unbounded, a client
// naming made-up SSRCs, 31 to a receiver report, held about a gigabyte
// of the server's memory with 100 MB of RTCP. Past a bound the peer is
// closed: nothing smaller frees the streams (pion keeps the stream object
// whatever the factory returns, and has no way to refuse one).
//
// Not counted here: the replay state pion/srtp keeps for each SSRC that
// sends SRTCP (about 300 bytes), made without a stream for a packet that
// names no other SSRC (a receiver report without report blocks). No
// factory sees it.
//
// What an honest client makes the server open:
//
//   - SRTP: one stream per SSRC it publishes with: each layer of each
//     track (at most maxClientMLines sending m-lines, 3 simulcast layers
//     each: 24 over a call), and pion's bandwidth probe (SSRC 0). The SFU
//     negotiates no RTX nor FEC, so a browser sends no repair SSRCs,
//     and the web client reuses its transceivers (so their SSRCs) when a
//     camera or a screen share stops and starts again. maxRTPStreams is
//     over twice that: 256 (eeaa410) let a participant hold 256 streams
//     of unread RTP (found in review; see maxUnclaimedRTPBytes).
//   - SRTCP: a stream for each of those SSRCs (their sender reports;
//     pion opens it with the SRTP stream), and one for each DownTrack the
//     peer was ever sent (its receiver reports, NACKs, PLIs, REMB): in a
//     long meeting with churn that grows with every track anyone
//     publishes, so these are not counted. Only an SSRC that was neither
//     when its stream opened counts: honestly, a subscription removed
//     before its subscriber sent any RTCP about it, reported late (a
//     browser reports audio every 5 s); a handful a meeting, one per
//     subscription at the very most. maxUnknownRTCPStreams is far above
//     that (TestSSRCChurnKeepsThePeer) and holds about 1.1 MB (2.5 MB
//     if each is a sender report's own SSRC).
const (
	maxRTPStreams         = 64
	maxUnknownRTCPStreams = 4096
)

// watch sets the peer to close past a bound, and closes it at once if a
// bound was passed before.
func (r *rtcpRoutes) watch(p *Peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peer == nil && r.over {
		r.closePeer(p)
	}
	r.peer = p
}

// closePeer logs and ends the peer that passed a bound, on a goroutine
// of its own: out of its router and its meeting (flood.go). Called once,
// with r.mu held: when the bound is passed, or by watch.
func (r *rtcpRoutes) closePeer(p *Peer) {
	p.log.Warn("closing the peer: its client sent too many SSRCs",
		"rtp_streams", len(r.rtp), "unknown_rtcp_streams", r.unknownRTCP,
		"max_rtp", maxRTPStreams, "max_unknown_rtcp", maxUnknownRTCPStreams)
	go p.router.closeFlooded(p)
}

// opened counts a new read stream and reports whether it is within the
// bounds. The first stream past a bound closes the peer and logs it once;
// the streams after it, until the peer's transport has closed, are only
// refused. Called by pion's SRTP and SRTCP read loops, inside the lock of
// their stream maps: the peer is closed on a goroutine of its own, since
// closing waits for those loops to end.
func (r *rtcpRoutes) opened(kind packetio.BufferPacketType, ssrc uint32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.over {
		r.refused++
		return false
	}
	switch {
	case kind == packetio.RTPBufferPacket:
		if r.rtp == nil {
			r.rtp = make(map[uint32]struct{})
		}
		if _, ok := r.rtp[ssrc]; ok || len(r.rtp) < maxRTPStreams {
			r.rtp[ssrc] = struct{}{}
			return true
		}
	case r.known(ssrc):
		return true
	case r.unknownRTCP < maxUnknownRTCPStreams:
		r.unknownRTCP++
		return true
	}
	r.over = true
	r.refused++
	if r.peer != nil {
		r.closePeer(r.peer)
	}
	return false
}

// known reports whether an SRTCP stream for ssrc is one an honest client
// makes the server open. r.mu is held.
func (r *rtcpRoutes) known(ssrc uint32) bool {
	if _, ok := r.rtp[ssrc]; ok {
		return true
	}
	if _, ok := r.downs.Load(ssrc); ok {
		return true
	}
	if _, ok := r.reads.Load(ssrc); ok {
		return true
	}
	_, ok := r.ups.Load(ssrc)
	return ok
}

func (r *rtcpRoutes) add(ssrc uint32, d *DownTrack) { r.downs.Store(ssrc, d) }
func (r *rtcpRoutes) remove(ssrc uint32)            { r.downs.Delete(ssrc) }

// addLayer routes the RTCP about a published layer through its receiver's
// interceptors, from the time its receiver has its track (the read would
// wait for it) until removeLayer.
func (r *rtcpRoutes) addLayer(l *layer)    { r.ups.Store(l.ssrc, l) }
func (r *rtcpRoutes) removeLayer(l *layer) { r.ups.CompareAndDelete(l.ssrc, l) }

// buffer is the PeerConnection's SettingEngine.BufferFactory.
func (r *rtcpRoutes) buffer(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	if !r.opened(kind, ssrc) {
		return discard{}
	}
	_, read := r.reads.Load(ssrc)
	if kind == packetio.RTCPBufferPacket && !read {
		return &rtcpSink{routes: r, ssrc: ssrc}
	}
	// A queue as pion/srtp makes when no factory is set, but one that
	// does not keep its peak (rtpBuffer), with a smaller bound while no
	// layer of the SFU reads it (see maxUnclaimedRTPBytes). A reader's
	// SRTCP has pion's bound for SRTCP, and is read as it comes.
	b := newRTPBuffer()
	b.SetLimitSize(1000 * 1000)
	pb := &packetBuffer{rtpBuffer: b, routes: r, ssrc: ssrc}
	if kind == packetio.RTCPBufferPacket {
		b.SetLimitSize(100 * 1000)
		pb.claimed.Store(true)
	}
	return pb
}

// maxUnclaimedRTPBytes bounds what an SRTP read stream queues while no
// published layer of the peer has its SSRC. pion opens a stream for every
// SSRC a client sends RTP with and keeps it for the PeerConnection's
// life; for an SSRC no track claims (undeclared, or a track the SFU
// ignores) it reads a few packets to look for a RID and then never again,
// so everything sent on it afterwards queued, up to pion's 1 MB a stream:
// 256 MB a participant within the 256 streams eeaa410 allowed (found in review;
// TestUnclaimedRTPStreamsHoldLittle). A claimed stream is read as it
// arrives by its layer's goroutine and keeps pion's bound, for a reader
// that lags. Before its layer claims it a declared stream queues only
// while the SFU's OnTrack waits for the peer's lock (milliseconds; at
// most the 2 s an offer may wait for pion's ICE agent): 128 KB, counted
// as the memory the queue holds (rtpBuffer: 1,584 bytes for a 1,200-byte
// packet), is 83 such packets, 0.32 s of a 2.5 Mbit/s layer, 1.6 s of a
// 500 kbit/s one; past it its first
// packets are dropped, and its subscribers ask for a key frame as they
// start. So a participant's unread RTP holds at most maxRTPStreams times
// this, 8 MB.
const maxUnclaimedRTPBytes = 128 << 10

// rtcpSink takes the RTCP of one SSRC and handles it as it is written.
// Its Read gives only the packet being written, to the read a Write makes
// for a layer; with nothing pending it returns io.EOF at once. It must
// never wait: the only reads are those Writes make from pion's SRTCP read
// loop, and a read that reached another sink (pion hands a RID's track
// the streams of any new SSRC that comes with the RID) and waited there
// stopped that loop, and all of the participant's RTCP with it
// (TestReview2LayerOnANewSSRCDoesNotWedgeRTCP).
type rtcpSink struct {
	routes *rtcpRoutes
	ssrc   uint32

	mu      sync.Mutex
	pending []byte // the packet a Write is running through a layer's interceptors
}

// Write handles one RTCP packet for the sink's SSRC; pion calls it from
// the SRTCP session's read loop with a buffer it reuses, which is not
// kept. A packet that does not parse, or for an SSRC with no DownTrack or
// layer (or no longer), is dropped.
func (s *rtcpSink) Write(b []byte) (int, error) {
	if v, ok := s.routes.downs.Load(s.ssrc); ok {
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return len(b), nil
		}
		v.(*DownTrack).handleRTCP(pkts)
		return len(b), nil
	}
	if v, ok := s.routes.ups.Load(s.ssrc); ok {
		l := v.(*layer)
		// Only the layer's current SSRC is read: once pion has moved the
		// RID's track to a new SSRC, the read would take that SSRC's
		// sink's packet, not this one's.
		if uint32(l.remote.SSRC()) != s.ssrc {
			return len(b), nil
		}
		// The interceptors read the packet in place: the read below
		// reaches this sink's Read, which hands it b, and its copy is
		// onto itself.
		s.mu.Lock()
		s.pending = b
		s.mu.Unlock()
		_, _, _ = l.recv.ReadSimulcast(b, l.rid)
		s.mu.Lock()
		s.pending = nil
		s.mu.Unlock()
	}
	return len(b), nil
}

func (s *rtcpSink) Read(p []byte) (int, error) {
	s.mu.Lock()
	b := s.pending
	s.pending = nil
	s.mu.Unlock()
	if b != nil {
		if len(p) < len(b) {
			return 0, io.ErrShortBuffer
		}
		return copy(p, b), nil
	}
	return 0, io.EOF
}

func (s *rtcpSink) Close() error { return nil }

// discard is the buffer of a stream past a bound: it drops what is
// written, and a read of it ends at once (pion's probe of an undeclared
// SSRC gives up), until the peer's close ends the stream.
type discard struct{}

func (discard) Read([]byte) (int, error)    { return 0, io.EOF }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) Close() error                { return nil }

// packetBuffer is an rtpBuffer wrapped as pion/srtp wraps its own
// packetio.Buffer: an io.ReadWriter, and packets' attributes kept
// alongside. While no layer of the peer has claimed its SSRC it queues
// at most maxUnclaimedRTPBytes (of memory held: rtpBuffer's Size) and
// drops what comes past that.
type packetBuffer struct {
	*rtpBuffer
	routes  *rtcpRoutes
	ssrc    uint32
	claimed atomic.Bool // a layer had the SSRC once: pion's bound only
}

// full reports whether a packet must be dropped because the stream is
// unclaimed and holds maxUnclaimedRTPBytes. Once claimed, one atomic load
// a packet.
func (b *packetBuffer) full() bool {
	if b.claimed.Load() {
		return false
	}
	if _, ok := b.routes.ups.Load(b.ssrc); ok {
		b.claimed.Store(true)
		return false
	}
	return b.rtpBuffer.Size() >= maxUnclaimedRTPBytes
}

func (b *packetBuffer) Read(p []byte) (int, error) {
	n, _, err := b.rtpBuffer.Read(p, nil)
	return n, err
}

// Write queues p unless the stream is unclaimed and full. A drop is
// ErrFull, which pion/srtp takes as a silent drop: it counts a packet
// pending before each write and takes the count back only on an error,
// so a drop reported as written would leave it a packet that never was
// (harmless while no repair stream is read; found in review 5).
func (b *packetBuffer) Write(p []byte) (int, error) {
	if b.full() {
		return 0, packetio.ErrFull
	}
	return b.rtpBuffer.Write(p, nil)
}

func (b *packetBuffer) ReadWithAttributes(p []byte, a packetio.Attributes) (int, packetio.Attributes, error) {
	return b.rtpBuffer.Read(p, a)
}

func (b *packetBuffer) WriteWithAttributes(p []byte, a packetio.Attributes) (int, error) {
	if b.full() {
		return 0, packetio.ErrFull
	}
	return b.rtpBuffer.Write(p, a)
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
