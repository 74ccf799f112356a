package sfu

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A client that names made-up SSRCs makes pion open a read stream for
// each, kept for the PeerConnection's life (rtcpsink.go, maxRTPStreams).
// These tests flood a Peer with them and check it is closed past the
// bounds, and that an honest client whose subscriptions churn is not.

// streamCounts returns a peer's counted streams.
func streamCounts(p *Peer) (rtpStreams, unknownRTCP, refused int, over bool) {
	p.rtcp.mu.Lock()
	defer p.rtcp.mu.Unlock()
	return len(p.rtcp.rtp), p.rtcp.unknownRTCP, p.rtcp.refused, p.rtcp.over
}

func peerClosed(p *Peer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// madeUpReports sends receiver reports naming n distinct SSRCs from
// first on, 31 (the most one report holds) to a packet.
func madeUpReports(t *testing.T, pc *webrtc.PeerConnection, first uint32, n int, stop func() bool) {
	t.Helper()
	for i := 0; i < n && !stop(); {
		rr := &rtcp.ReceiverReport{SSRC: 1}
		for ; len(rr.Reports) < 31 && i < n; i++ {
			rr.Reports = append(rr.Reports, rtcp.ReceptionReport{SSRC: first + uint32(i)})
		}
		if err := pc.WriteRTCP([]rtcp.Packet{rr}); err != nil {
			return // the server closed the connection
		}
		// Paced so that loopback UDP keeps them: a few hundred
		// packets a second.
		if (i/31)%8 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// TestSSRCFloodClosesThePeer: a participant's client sends receiver
// reports naming 20,000 SSRCs it was never sent. Before the bound pion
// kept a stream for each as long as the peer lived; now the peer is
// closed once maxUnknownRTCPStreams are open. The test also measures the
// heap each stream holds while the peer is referenced.
func TestSSRCFloodClosesThePeer(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")
	eve := newPionClient(t, r, "eve")
	eve.publish([]Source{SourceMicrophone}, false)
	waitFor(t, 20*time.Second, "eve never connected", eve.peer.connected.Load)

	before := heapInUse()
	const n = 20000
	madeUpReports(t, eve.pc, 0x40000000, n, func() bool { return peerClosed(eve.peer) })
	waitFor(t, 20*time.Second, "the server never closed the flooding peer", func() bool { return peerClosed(eve.peer) })
	// The close has ended pion's SRTCP loop once the peer's transport
	// is closed: nothing more is opened.
	waitFor(t, 10*time.Second, "the peer's connection never closed", func() bool {
		return eve.peer.ConnectionState() == webrtc.PeerConnectionStateClosed
	})
	after := heapInUse()
	_, unknown, refused, over := streamCounts(eve.peer)
	if !over || unknown != maxUnknownRTCPStreams {
		t.Fatalf("over %v, %d unknown RTCP streams, want %d", over, unknown, maxUnknownRTCPStreams)
	}
	opened := unknown + refused
	grown := int64(after) - int64(before)
	t.Logf("%d made-up SSRCs sent; %d streams opened (%d past the bound) before the close took effect; heap in use %+d bytes, %d bytes a stream",
		n, opened, refused, grown, grown/int64(opened))
	// What the streams hold is bounded by what was opened before the
	// close: far less than n streams' worth (0.7 KB each, measured).
	if opened >= n/2 {
		t.Errorf("%d of %d SSRCs got a stream: the close did not stop them", opened, n)
	}
	runtime.KeepAlive(eve)
}

// rawTrack is a TrackLocal whose packets keep the SSRC the test gives
// them, as a client naming made-up SSRCs in its RTP would send.
type rawTrack struct {
	mu sync.Mutex
	ws webrtc.TrackLocalWriter
	pt webrtc.PayloadType
}

func (t *rawTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if c.MimeType == webrtc.MimeTypeOpus {
			t.mu.Lock()
			t.ws, t.pt = ctx.WriteStream(), c.PayloadType
			t.mu.Unlock()
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (t *rawTrack) Unbind(webrtc.TrackLocalContext) error { return nil }
func (t *rawTrack) ID() string                            { return "microphone" }
func (t *rawTrack) RID() string                           { return "" }
func (t *rawTrack) StreamID() string                      { return "stream" }
func (t *rawTrack) Kind() webrtc.RTPCodecType             { return webrtc.RTPCodecTypeAudio }

func (t *rawTrack) write(ssrc uint32, seq uint16) error {
	t.mu.Lock()
	ws, pt := t.ws, t.pt
	t.mu.Unlock()
	if ws == nil {
		return nil
	}
	_, err := ws.WriteRTP(&rtp.Header{Version: 2, PayloadType: uint8(pt), SSRC: ssrc, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, []byte{0xf8, 0xff, 0xfe})
	return err
}

// TestSSRCFloodRTPClosesThePeer: a client sends RTP on hundreds of SSRCs
// its offer never declared. pion opens an SRTP and an SRTCP stream for
// each, keeps them, and probes at most 25 at a time for a RID (unbounded
// before); the peer is now closed past maxRTPStreams.
func TestSSRCFloodRTPClosesThePeer(t *testing.T) {
	eve, track := connectUndeclaredRTPClient(t)

	const n = 2000
	for i := 0; i < n && !peerClosed(eve.peer); i++ {
		if err := track.write(0x50000000+uint32(i), uint16(i)); err != nil {
			break
		}
		if i%8 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(t, 20*time.Second, "the server never closed the flooding peer", func() bool { return peerClosed(eve.peer) })
	rtpStreams, unknown, refused, over := streamCounts(eve.peer)
	t.Logf("%d undeclared SSRCs sent: %d SRTP streams, %d unknown SRTCP streams, %d refused", n, rtpStreams, unknown, refused)
	if !over || rtpStreams != maxRTPStreams {
		t.Fatalf("over %v, %d SRTP streams, want %d", over, rtpStreams, maxRTPStreams)
	}
}

// connectUndeclaredRTPClient connects eve, a client that publishes a
// microphone whose packets keep the SSRC the test gives them (rawTrack),
// so that it can send RTP on SSRCs its offer never declared. Its
// PeerConnection has no interceptors: the packets go out as written.
func connectUndeclaredRTPClient(t *testing.T) (*pionClient, *rawTrack) {
	t.Helper()
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	eve := attachPionClient(t, r, "eve", pc)
	track := &rawTrack{}
	done := make(chan error, 1)
	eve.do(func() {
		tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			done <- err
			return
		}
		offer, err := pc.CreateOffer(nil)
		if err == nil {
			err = pc.SetLocalDescription(offer)
		}
		if err != nil {
			done <- err
			return
		}
		done <- eve.peer.HandleOffer(offer.SDP, []PublishedTrack{{Mid: tr.Mid(), Source: SourceMicrophone}})
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "eve never connected", eve.peer.connected.Load)
	return eve, track
}

// attachPionClient is newPionClient with a PeerConnection of the test's.
func attachPionClient(t *testing.T, r *Router, participant string, pc *webrtc.PeerConnection) *pionClient {
	t.Helper()
	c := &pionClient{t: t, pc: pc, queue: make(chan func(), 1024), done: make(chan struct{}),
		received: make(map[uint32]*streamLog), ssrcOf: make(map[webrtc.RTPCodecType]uint32)}
	p, err := r.AddPeer(participant, c)
	if err != nil {
		t.Fatal(err)
	}
	c.peer = p
	pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci != nil {
			init := ci.ToJSON()
			c.do(func() { _ = c.peer.AddCandidate(init) })
		}
	})
	pc.OnTrack(c.receive)
	go c.run()
	t.Cleanup(c.close)
	return c
}

// TestSSRCChurnKeepsThePeer: an honest participant in a meeting whose
// others come and go. Bob publishes a simulcast camera (three SRTP
// streams) and is sent each newcomer's microphone, a new DownTrack each;
// after each one has left, bob's client reports on every SSRC it was
// ever sent (a browser's late receiver reports, the first report of a
// subscription that was too short to be reported while it lasted). His
// peer stays open, and the counts stay far below the bounds.
func TestSSRCChurnKeepsThePeer(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")
	bob := newPionClient(t, r, "bob")
	layers := bob.publish([]Source{SourceCamera}, true)
	frame := func(i uint32) []byte {
		p := []byte{0x10, 0, 0, 0, 0, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}
		binary.BigEndian.PutUint32(p[1:], i)
		return p
	}
	sendLayers := func(i uint32) {
		for _, st := range layers {
			if err := st.write(frame(i), 3000); err != nil {
				t.Fatal(err)
			}
		}
	}
	lateReports := func() {
		bob.mu.Lock()
		var ssrcs []uint32
		for ssrc := range bob.received {
			ssrcs = append(ssrcs, ssrc)
		}
		bob.mu.Unlock()
		for len(ssrcs) > 0 {
			k := min(len(ssrcs), 31)
			rr := &rtcp.ReceiverReport{SSRC: 1}
			for _, ssrc := range ssrcs[:k] {
				rr.Reports = append(rr.Reports, rtcp.ReceptionReport{SSRC: ssrc})
			}
			ssrcs = ssrcs[k:]
			if err := bob.pc.WriteRTCP([]rtcp.Packet{rr}); err != nil {
				t.Fatal(err)
			}
		}
	}

	waitFor(t, 20*time.Second, "bob's camera was never published", func() bool {
		sendLayers(1)
		return len(r.Tracks()) == 1
	})

	const cycles = 12
	for i := range uint32(cycles) {
		name := fmt.Sprintf("p%d", i)
		pub := newPionClient(t, r, name)
		// The server offers bob's camera first: publishing meanwhile
		// would cross its offer.
		waitFor(t, 20*time.Second, name+" was never offered bob's camera", func() bool {
			stable := make(chan bool, 1)
			pub.do(func() {
				stable <- pub.pc.CurrentRemoteDescription() != nil && pub.pc.SignalingState() == webrtc.SignalingStateStable
			})
			return <-stable
		})
		mic := pub.publish([]Source{SourceMicrophone}, false)["microphone/"]
		mark := 1000 + i
		waitFor(t, 20*time.Second, "bob was never sent "+name+"'s microphone", func() bool {
			sendLayers(mark)
			if err := mic.write(frame(mark), 960); err != nil {
				t.Fatal(err)
			}
			return bob.got(webrtc.RTPCodecTypeAudio)[mark] != nil
		})
		r.RemovePeer(name)
		pub.close()
		lateReports()
	}
	// A made-up SSRC last: once it is counted, the reports before it
	// (same SRTCP loop, in order) have been handled.
	_, before, _, _ := streamCounts(bob.peer)
	waitFor(t, 20*time.Second, "the last report was never handled", func() bool {
		rr := &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 0x7fffff00}}}
		if err := bob.pc.WriteRTCP([]rtcp.Packet{rr}); err != nil {
			t.Fatal(err)
		}
		_, n, _, _ := streamCounts(bob.peer)
		return n > before
	})
	rtpStreams, unknown, refused, over := streamCounts(bob.peer)
	t.Logf("after %d subscriptions came and went: %d SRTP streams, %d unknown SRTCP streams (the last one made up), %d refused",
		cycles, rtpStreams, unknown, refused)
	if peerClosed(bob.peer) || over || refused > 0 {
		t.Fatalf("an honest peer was closed (over %v, %d refused)", over, refused)
	}
	// Each subscription's reports may come only after it ended (unknown),
	// never more than one stream each; bob's layers are three SSRCs.
	if unknown > cycles+1 || rtpStreams > 4 {
		t.Errorf("%d unknown SRTCP streams for %d subscriptions, %d SRTP streams for 3 layers", unknown, cycles, rtpStreams)
	}
}
