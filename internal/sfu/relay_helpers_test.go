package sfu

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// pionClient is a participant's client in a relay test: a pion
// PeerConnection negotiating with its Peer as the web client does (the
// server offers only in a turn the client grants). Signaller calls are
// queued and run in order on the client's goroutine.
type pionClient struct {
	t    *testing.T
	pc   *webrtc.PeerConnection
	peer *Peer

	queue chan func()
	done  chan struct{}
	// pending are the server's candidates that came before its
	// description (only the client's goroutine touches it).
	pending []webrtc.ICECandidateInit

	mu       sync.Mutex
	received map[uint32]*streamLog // by the subscriber's SSRC
	ssrcOf   map[webrtc.RTPCodecType]uint32
	plis     atomic.Uint64 // key-frame requests the publisher got
}

// streamLog is what a subscriber received on one track: the payloads by
// the index the test wrote into them.
type streamLog struct {
	kind     webrtc.RTPCodecType
	payloads map[uint32][]byte
}

func newPionClient(t *testing.T, r *Router, participant string) *pionClient {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	return attachPionClient(t, r, participant, pc)
}

func (c *pionClient) close() {
	select {
	case <-c.done:
	default:
		close(c.done)
		_ = c.pc.Close()
	}
}

func (c *pionClient) do(f func()) {
	select {
	case c.queue <- f:
	case <-c.done:
	}
}

func (c *pionClient) run() {
	for {
		select {
		case f := <-c.queue:
			f()
		case <-c.done:
			return
		}
	}
}

// Renegotiate grants the server its turn at once.
func (c *pionClient) Renegotiate() {
	c.do(func() { _ = c.peer.HandleReady() })
}

func (c *pionClient) Offer(offer string, _ []TrackInfo) {
	c.do(func() {
		if err := c.setRemote(webrtc.SDPTypeOffer, offer); err != nil {
			return
		}
		answer, err := c.pc.CreateAnswer(nil)
		if err == nil {
			err = c.pc.SetLocalDescription(answer)
		}
		if err != nil && !c.serverLeft() {
			c.t.Errorf("client answer: %v", err)
		}
		if err != nil {
			return
		}
		// A peer the test removed meanwhile is closed: not an error.
		if err := c.peer.HandleAnswer(answer.SDP); err != nil && !errors.Is(err, ErrPeerClosed) {
			c.t.Errorf("server refused the answer: %v", err)
		}
	})
}

func (c *pionClient) Answer(answer string) {
	c.do(func() { _ = c.setRemote(webrtc.SDPTypeAnswer, answer) })
}

func (c *pionClient) Candidate(ci webrtc.ICECandidateInit) {
	c.do(func() {
		if ci.Candidate == "" {
			return
		}
		if c.pc.RemoteDescription() == nil {
			c.pending = append(c.pending, ci)
			return
		}
		_ = c.pc.AddICECandidate(ci)
	})
}

// serverLeft reports that the server closed the client's peer (the test
// removed it). pion then closes the client's connection as well, on the
// DTLS close_notify, so a description the server sent just before, still
// in the client's queue, fails with "connection closed": not an error.
func (c *pionClient) serverLeft() bool {
	c.peer.mu.Lock()
	defer c.peer.mu.Unlock()
	return c.peer.closed
}

// setRemote applies a description and the candidates that came before it.
// Runs on the client's goroutine.
func (c *pionClient) setRemote(typ webrtc.SDPType, desc string) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: desc}); err != nil {
		if !c.serverLeft() {
			c.t.Errorf("client: set remote %s: %v", typ, err)
		}
		return err
	}
	for _, ci := range c.pending {
		_ = c.pc.AddICECandidate(ci)
	}
	c.pending = nil
	return nil
}

// sentTrack is one track a test publisher writes, or one simulcast layer.
type sentTrack struct {
	track *webrtc.TrackLocalStaticRTP
	tr    *webrtc.RTPTransceiver
	rid   string
	seq   uint16
	ts    uint32
	// midID and ridID: the negotiated header extensions a simulcast
	// layer's packets carry.
	midID, ridID uint8
}

// publish offers the tracks (one per source; simulcast video as three
// layers q, h, f) and returns them by source and RID.
func (c *pionClient) publish(sources []Source, simulcast bool) map[string]*sentTrack {
	c.t.Helper()
	out := make(map[string]*sentTrack)
	var published []PublishedTrack
	done := make(chan error, 1)
	c.do(func() {
		for _, s := range sources {
			codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
			if s.Kind() == webrtc.RTPCodecTypeVideo {
				codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
			}
			rids := []string{""}
			if simulcast && s.Kind() == webrtc.RTPCodecTypeVideo {
				rids = []string{"q", "h", "f"}
			}
			var tr *webrtc.RTPTransceiver
			for _, rid := range rids {
				var opts []func(*webrtc.TrackLocalStaticRTP)
				if rid != "" {
					opts = append(opts, webrtc.WithRTPStreamID(rid))
				}
				track, err := webrtc.NewTrackLocalStaticRTP(codec, string(s), "stream", opts...)
				if err != nil {
					done <- err
					return
				}
				if tr == nil {
					tr, err = c.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
				} else {
					err = tr.Sender().AddEncoding(track)
				}
				if err != nil {
					done <- err
					return
				}
				out[string(s)+"/"+rid] = &sentTrack{track: track, tr: tr, rid: rid}
			}
			go c.countKeyframeRequests(tr.Sender(), rids)
		}
		offer, err := c.pc.CreateOffer(nil)
		if err == nil {
			err = c.pc.SetLocalDescription(offer)
		}
		if err != nil {
			done <- err
			return
		}
		for _, s := range sources {
			for _, st := range out {
				if st.track.ID() == string(s) {
					published = append(published, PublishedTrack{Mid: st.tr.Mid(), Source: s})
					break
				}
			}
		}
		done <- c.peer.HandleOffer(offer.SDP, published)
	})
	if err := <-done; err != nil {
		c.t.Fatalf("publish: %v", err)
	}
	return out
}

// countKeyframeRequests counts the PLIs and FIRs reaching the publisher
// on a sender (every layer of it).
func (c *pionClient) countKeyframeRequests(s *webrtc.RTPSender, rids []string) {
	for _, rid := range rids {
		go func() {
			for {
				var pkts []rtcp.Packet
				var err error
				if rid != "" {
					pkts, _, err = s.ReadSimulcastRTCP(rid)
				} else {
					pkts, _, err = s.ReadRTCP()
				}
				if err != nil {
					return
				}
				for _, p := range pkts {
					switch p.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						c.plis.Add(1)
					}
				}
			}
		}()
	}
}

// write sends one packet of a test publisher's track, its own frame.
func (st *sentTrack) write(payload []byte, tsStep uint32) error {
	st.seq++
	st.ts += tsStep
	h := rtp.Header{Version: 2, Marker: true, SequenceNumber: st.seq, Timestamp: st.ts}
	if st.rid != "" {
		if st.midID == 0 || st.ridID == 0 {
			for _, ext := range st.tr.Sender().GetParameters().HeaderExtensions {
				switch ext.URI {
				case sdp.SDESMidURI:
					st.midID = uint8(ext.ID)
				case sdp.SDESRTPStreamIDURI:
					st.ridID = uint8(ext.ID)
				}
			}
		}
		if st.midID == 0 || st.ridID == 0 {
			return nil
		}
		_ = h.SetExtension(st.midID, []byte(st.tr.Mid()))
		_ = h.SetExtension(st.ridID, []byte(st.rid))
	}
	return st.track.WriteRTP(&rtp.Packet{Header: h, Payload: payload})
}

// receive keeps what a subscriber gets on a track.
func (c *pionClient) receive(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	ssrc := uint32(remote.SSRC())
	c.mu.Lock()
	log := &streamLog{kind: remote.Kind(), payloads: make(map[uint32][]byte)}
	c.received[ssrc] = log
	c.ssrcOf[remote.Kind()] = ssrc
	c.mu.Unlock()
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) < 5 {
			continue
		}
		i := binary.BigEndian.Uint32(pkt.Payload[1:])
		c.mu.Lock()
		log.payloads[i] = append([]byte(nil), pkt.Payload...)
		c.mu.Unlock()
	}
}

// got returns the payloads received of one kind, by index.
func (c *pionClient) got(kind webrtc.RTPCodecType) map[uint32][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[uint32][]byte)
	for _, l := range c.received {
		if l.kind == kind {
			for i, p := range l.payloads {
				out[i] = p
			}
		}
	}
	return out
}

// waitFor waits, up to limit (a bound, not a timing), until cond holds,
// checking every 50 ms.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// relayLink is the cluster's part in a relay test: it carries two
// nodes' relay negotiation in process, as NATS would between nodes.
type relayLink struct {
	t     *testing.T
	ready chan struct{}
	out   *RelayOut
	in    *RelayIn
	// closes counts the Closed messages each way.
	outClosed, inClosed atomic.Int32
	// hold: the sending end gets no answer while it is write-locked.
	hold sync.RWMutex
}

type linkOutEnd struct{ l *relayLink }
type linkInEnd struct{ l *relayLink }

func (e linkOutEnd) Description(sdp string) {
	go func() {
		<-e.l.ready
		if err := e.l.in.HandleOffer(sdp); err != nil && err != ErrRelayClosed {
			e.l.t.Errorf("relay offer: %v", err)
		}
	}()
}

func (e linkOutEnd) Closed() {
	e.l.outClosed.Add(1)
	go func() { <-e.l.ready; e.l.in.Close() }()
}

func (e linkInEnd) Description(sdp string) {
	go func() {
		<-e.l.ready
		e.l.hold.RLock()
		defer e.l.hold.RUnlock()
		if err := e.l.out.HandleAnswer(sdp); err != nil && err != ErrRelayClosed {
			e.l.t.Errorf("relay answer: %v", err)
		}
	}()
}

func (e linkInEnd) Closed() {
	e.l.inClosed.Add(1)
	go func() { <-e.l.ready; e.l.out.Close() }()
}

// link relays the meeting's tracks published on from's router to to's:
// to asks (RelayFrom), from sends (RelayTo).
func link(t *testing.T, from, to *Router, fromNode, toNode string) *relayLink {
	t.Helper()
	l := &relayLink{t: t, ready: make(chan struct{})}
	in, err := to.RelayFrom(fromNode, linkInEnd{l})
	if err != nil {
		t.Fatal(err)
	}
	l.in = in
	out, err := from.RelayTo(toNode, linkOutEnd{l})
	if err != nil {
		t.Fatal(err)
	}
	l.out = out
	close(l.ready)
	return l
}

// newTestSFU is an SFU for a relay test, closed at the test's end.
func newTestSFU(t *testing.T) *SFU {
	t.Helper()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
