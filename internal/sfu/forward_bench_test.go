package sfu

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// The forwarding hot path: one packet from a publisher in, N packets to
// subscribers out, through UpTrack.route and DownTrack.forward into each
// subscriber's TrackLocalWriter. Writers:
//
//   - discard: a writer that drops the packet, to measure the SFU's own code;
//   - srtp: the interceptors the SFU registers (sender reports), then pion's
//     SRTP (AES-128-GCM) into a connection that drops what it is given;
//   - srtp+nackresponder: the same with pion's NACK responder added (what
//     the SFU used before it answered NACKs from its own cache);
//   - srtp-reports: SRTP alone, without the sender-report interceptor, to
//     show what keeping sender reports costs;
//   - udp: srtp, then a real UDP send per packet to a socket on loopback
//     (needs a network: run in a namespace, see the README), from a
//     socket per subscriber;
//   - udp-mux: the same from one socket for all (the single-port mux);
//   - udp-batch: srtp, then the batching socket (batch.go) of each
//     subscriber, as pion's ICE candidates write to it: each
//     subscriber's frame in one GSO message, one sendmmsg per socket;
//   - udp-batch-mux: the batching socket shared by all subscribers:
//     their frames' GSO messages together in one sendmmsg;
//   - udp-mmsg-mux: the same without GSO (sendmmsg alone);
//   - own: the SFU's own SRTP (srtpout.go: no interceptors, no SRTP
//     session) into a connection that drops what it is given;
//   - udp-batch-own, udp-batch-mux-own: udp-batch and udp-batch-mux
//     with the SFU's own SRTP instead of pion's chain;
//   - udp-batch-direct, udp-batch-mux-direct: the SFU's own SRTP on the
//     direct path (direct.go): encrypted in the batch queue for the
//     selected pair's socket, skipping pion's endpoint, mux and ICE
//     connection (here the addrConn standing for them) and the copy.
//
// ns/pkt is the time per forwarded packet; syscalls/pkt the batches'
// system calls per packet. The receiving socket is not read: once its
// buffer is full the kernel drops what arrives, the same for every
// writer.
func BenchmarkForward(b *testing.B) {
	for _, w := range []string{"discard", "srtp", "srtp+nackresponder", "srtp-reports", "udp", "udp-mux", "udp-batch", "udp-batch-mux", "udp-mmsg-mux", "own", "udp-batch-own", "udp-batch-mux-own", "udp-batch-direct", "udp-batch-mux-direct"} {
		for _, n := range []int{1, 10, 50, 200} {
			b.Run(fmt.Sprintf("writer=%s/subscribers=%d", w, n), func(b *testing.B) {
				benchmarkForward(b, w, n)
			})
		}
	}
}

func benchmarkForward(b *testing.B, writer string, n int) {
	up, l := benchUpTrack()
	if strings.HasPrefix(writer, "udp-") {
		benchUDPWriters(b, up, writer, n)
	} else if writer == "own" {
		for i := 0; i < n; i++ {
			attachOwn(b, up, i, &discardConn{closed: make(chan struct{})})
		}
	} else if writer == "udp" {
		pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Skipf("no loopback network: %v", err)
		}
		defer pc.Close()
		for i := 0; i < n; i++ {
			c, err := net.DialUDP("udp4", nil, pc.LocalAddr().(*net.UDPAddr))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			attachBench(b, up, i, newSRTPWriter(b, c, uint32(5000+i), false))
		}
	} else {
		for i := 0; i < n; i++ {
			var w webrtc.TrackLocalWriter
			switch writer {
			case "discard":
				w = &discardWriter{}
			case "srtp":
				w = newSRTPWriter(b, &discardConn{closed: make(chan struct{})}, uint32(5000+i), false)
			case "srtp+nackresponder":
				w = newSRTPWriter(b, &discardConn{closed: make(chan struct{})}, uint32(5000+i), true)
			case "srtp-reports":
				w = newSRTPOnlyWriter(b, &discardConn{closed: make(chan struct{})})
			}
			attachBench(b, up, i, w)
		}
	}

	raw := benchPacket(1100)
	now := time.Now().UnixNano()
	// A one-packet frame to start every subscriber, outside the
	// measurement.
	raw[1] |= 0x80
	binary.BigEndian.PutUint32(raw[4:], 1<<31)
	up.route(l, raw, now)
	before := up.owner.router.sfu.forwardedPackets.Load()
	b.ReportAllocs()
	b.ResetTimer()
	// Frames of four packets, the last with the marker.
	for i := 0; i < b.N; i++ {
		binary.BigEndian.PutUint16(raw[2:], uint16(i+1))
		binary.BigEndian.PutUint32(raw[4:], uint32(i/4)*3000)
		raw[1] &^= 0x80
		if i%4 == 3 {
			raw[1] |= 0x80
		}
		up.route(l, raw, now+int64(i)*1000)
	}
	b.StopTimer()
	up.fanout.Lock()
	up.flush(l) // the last frame's packets, if it has no marker yet
	up.fanout.Unlock()
	sent := up.owner.router.sfu.forwardedPackets.Load() - before
	if sent != uint64(b.N*n) {
		b.Fatalf("forwarded %d packets, want %d", sent, b.N*n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pkt")
	if _, calls, failed := up.owner.router.sfu.batch.stats(); calls > 0 {
		b.ReportMetric(float64(calls)/float64(sent), "syscalls/pkt")
		if failed > 0 {
			b.Fatalf("%d datagrams not sent", failed)
		}
	}
}

// benchUDPWriters attaches n subscribers writing through SRTP to the
// sockets the writer names (see BenchmarkForward), sending to one
// receiving socket on loopback.
func benchUDPWriters(b *testing.B, up *UpTrack, writer string, n int) {
	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Skipf("no loopback network: %v", err)
	}
	b.Cleanup(func() { recv.Close() })
	dst := recv.LocalAddr().(*net.UDPAddr).AddrPort()
	var batch *batcher
	direct := strings.HasSuffix(writer, "-direct")
	own := direct || strings.HasSuffix(writer, "-own")
	writer = strings.TrimSuffix(strings.TrimSuffix(writer, "-own"), "-direct")
	switch writer {
	case "udp-batch", "udp-batch-mux":
		batch = newBatcher(SendAuto, slog.New(slog.NewTextHandler(io.Discard, nil)))
	case "udp-mmsg-mux":
		batch = newBatcher(SendMMsg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	up.owner.router.sfu.batch = batch
	socket := func() addrPortWriter {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		if batch == nil {
			return plainUDP{c}
		}
		w, ok := batch.wrap(c).(*batchConn)
		if !ok {
			b.Fatal("socket not wrapped")
		}
		return w
	}
	var shared addrPortWriter
	if strings.HasSuffix(writer, "-mux") {
		shared = socket()
	}
	for i := 0; i < n; i++ {
		w := shared
		if w == nil {
			w = socket()
		}
		conn := &addrConn{discardConn: discardConn{closed: make(chan struct{})}, w: w, dst: dst}
		if own {
			d := attachOwn(b, up, i, conn)
			if direct {
				d.binding.Load().out.direct.Store(&directTarget{c: w.(*batchConn), dst: dst})
			}
			continue
		}
		attachBench(b, up, i, newSRTPWriter(b, conn, uint32(5000+i), false))
	}
}

// addrPortWriter is what pion's ICE candidate writes a packet to.
type addrPortWriter interface {
	WriteToAddrPort(p []byte, dst netip.AddrPort) (int, error)
}

type plainUDP struct{ *net.UDPConn }

func (c plainUDP) WriteToAddrPort(p []byte, dst netip.AddrPort) (int, error) {
	return c.WriteToUDPAddrPort(p, dst)
}

// addrConn is the selected ICE pair as SRTP sees it: a net.Conn whose
// writes go to one address through a candidate's socket.
type addrConn struct {
	discardConn
	w   addrPortWriter
	dst netip.AddrPort
}

func (c *addrConn) Write(p []byte) (int, error) { return c.w.WriteToAddrPort(p, c.dst) }

// benchUpTrack is a published VP8 track with one layer and no network.
func benchUpTrack() (*UpTrack, *layer) {
	s := &SFU{}
	r := &Router{sfu: s}
	p := &Peer{router: r, participant: "publisher"}
	up := &UpTrack{
		owner: p, source: SourceCamera, kind: webrtc.RTPCodecTypeVideo,
		codec: webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}},
		done:  make(chan struct{}),
	}
	up.downs.Store(&[]*DownTrack{})
	l := &layer{up: up, ssrc: 1234, cache: newPacketCache(videoCachePackets), batch: &frameBatch{}}
	up.layers[0].Store(l)
	return up, l
}

func attachBench(b *testing.B, up *UpTrack, i int, w webrtc.TrackLocalWriter) {
	d := newDownTrack(up, connectedPeer(fmt.Sprint("subscriber", i)))
	d.binding.Store(&binding{ssrc: uint32(5000 + i), payloadType: 96, writer: w})
	if !up.attach(d) {
		b.Fatal("attach failed")
	}
}

// attachOwn attaches subscriber i, its own peer, writing with the
// SFU's own SRTP (AES-128-GCM) to w.
func attachOwn(b testing.TB, up *UpTrack, i int, w io.Writer) *DownTrack {
	d := newDownTrack(up, connectedPeer(fmt.Sprint("subscriber", i)))
	d.binding.Store(&binding{ssrc: uint32(5000 + i), payloadType: 96, clockRate: 90000,
		out: newTestOut(b, w), sent: sentCounts{base: time.Now()}})
	if !up.attach(d) {
		b.Fatal("attach failed")
	}
	return d
}

// newTestOut is a peer's own SRTP, as srtpOut.start makes it, with a
// fixed AES-128-GCM key, writing to w.
func newTestOut(tb testing.TB, w io.Writer) *srtpOut {
	ctx, err := srtp.CreateContext(make([]byte, 16), make([]byte, 12), srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		tb.Fatal(err)
	}
	o := newSRTPOut()
	o.use(ownKeys{ctx: ctx, w: w, lock: new(sync.RWMutex), cryptex: new(srtp.CryptexMode)})
	o.state.Store(outOwn)
	return o
}

// benchPacket is a VP8 delta-frame packet with payload bytes of payload.
func benchPacket(payload int) []byte {
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 0, Timestamp: 0, SSRC: 1234}
	raw, _ := (&rtp.Packet{Header: h, Payload: make([]byte, payload)}).Marshal()
	raw[12] = 0x10 // VP8 descriptor: start of partition 0
	raw[13] = 0x01 // inter frame
	return raw
}

type discardWriter struct{ n atomic.Uint64 }

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n.Add(1)
	return len(payload), nil
}

func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// srtpWriter is what pion binds a local track to: the interceptor chain,
// then an SRTP write stream.
type srtpWriter struct {
	rtp interceptor.RTPWriter
}

func (w *srtpWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	return w.rtp.Write(h, payload, nil)
}

func (w *srtpWriter) Write(b []byte) (int, error) { return len(b), nil }

func newSRTPWriter(b *testing.B, conn net.Conn, ssrc uint32, nackResponder bool) *srtpWriter {
	ws := newSRTPStream(b, conn)
	reg := &interceptor.Registry{}
	sender, err := report.NewSenderInterceptor()
	if err != nil {
		b.Fatal(err)
	}
	reg.Add(sender)
	if nackResponder {
		resp, err := nack.NewResponderInterceptor()
		if err != nil {
			b.Fatal(err)
		}
		reg.Add(resp)
	}
	chain, err := reg.Build("")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = chain.Close() })
	info := &interceptor.StreamInfo{
		SSRC: ssrc, PayloadType: 96, MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}},
	}
	w := chain.BindLocalStream(info, interceptor.RTPWriterFunc(
		func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
			return ws.WriteRTP(h, payload)
		}))
	return &srtpWriter{rtp: w}
}

// newSRTPStream opens an AES-128-GCM SRTP write stream over conn.
func newSRTPStream(b *testing.B, conn net.Conn) *srtp.WriteStreamSRTP {
	key, salt := make([]byte, 16), make([]byte, 12)
	sess, err := srtp.NewSessionSRTP(conn, &srtp.Config{
		Profile:       srtp.ProtectionProfileAeadAes128Gcm,
		Keys:          srtp.SessionKeys{LocalMasterKey: key, LocalMasterSalt: salt, RemoteMasterKey: key, RemoteMasterSalt: salt},
		LoggerFactory: quietLogs{},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sess.Close() })
	ws, err := sess.OpenWriteStream()
	if err != nil {
		b.Fatal(err)
	}
	return ws
}

// srtpOnlyWriter writes straight to SRTP, with no interceptor.
type srtpOnlyWriter struct{ ws *srtp.WriteStreamSRTP }

func (w srtpOnlyWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	return w.ws.WriteRTP(h, payload)
}

func (w srtpOnlyWriter) Write(b []byte) (int, error) { return len(b), nil }

func newSRTPOnlyWriter(b *testing.B, conn net.Conn) srtpOnlyWriter {
	return srtpOnlyWriter{ws: newSRTPStream(b, conn)}
}

// discardConn is a net.Conn that drops writes and blocks reads until
// closed.
type discardConn struct {
	closed chan struct{}
	once   atomic.Bool
}

func (c *discardConn) Read([]byte) (int, error) { <-c.closed; return 0, net.ErrClosed }
func (c *discardConn) Write(b []byte) (int, error) {
	return len(b), nil
}
func (c *discardConn) Close() error {
	if c.once.CompareAndSwap(false, true) {
		close(c.closed)
	}
	return nil
}
func (c *discardConn) LocalAddr() net.Addr              { return &net.UDPAddr{} }
func (c *discardConn) RemoteAddr() net.Addr             { return &net.UDPAddr{} }
func (c *discardConn) SetDeadline(time.Time) error      { return nil }
func (c *discardConn) SetReadDeadline(time.Time) error  { return nil }
func (c *discardConn) SetWriteDeadline(time.Time) error { return os.ErrNoDeadline }

// quietLogs drops pion's logs: closing a session logs an error.
type quietLogs struct{}

func (quietLogs) NewLogger(string) logging.LeveledLogger {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f.NewLogger("")
}
