package sfu

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// TestPionSRTPFieldsAreThere: what the SFU reads of pion's DTLS
// transport to encrypt forwarded media itself is still there. If this
// fails pion was upgraded and changed them: the SFU then sends through
// pion's write chain (and says so at start) until srtpout.go is
// brought up to date.
func TestPionSRTPFieldsAreThere(t *testing.T) {
	if err := checkPionSRTP(); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.ownSRTP {
		t.Fatal("the SFU does not encrypt forwarded media itself")
	}
}

// srtpRig is a publisher and a subscriber in one meeting, each a pion
// client. The subscriber runs no interceptors (what it reads is what the
// SFU sent) and no SRTP replay protection (a retransmission it already
// has is delivered again).
type srtpRig struct {
	sub     *Peer
	sc      *webrtc.PeerConnection
	track   *webrtc.TrackLocalStaticRTP
	arrived chan arrivedTrack
}

type arrivedTrack struct {
	remote *webrtc.TrackRemote
	recv   *webrtc.RTPReceiver
}

// newSRTPRig starts the rig; sfuDTLSClient makes the SFU the DTLS
// client of the subscriber's transport (it is the server otherwise).
func newSRTPRig(t *testing.T, cfg Config, sfuDTLSClient bool) *srtpRig {
	t.Helper()
	cfg.IncludeLoopback = true
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")

	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.DisableSRTPReplayProtection(true)
	if sfuDTLSClient {
		if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
			t.Fatal(err)
		}
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	sc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	rig := &srtpRig{sc: sc, arrived: make(chan arrivedTrack, 1)}
	ssig := &subscriberSignals{client: sc, peer: make(chan *Peer, 1), t: t}
	rig.sub, err = r.AddPeer("sub", ssig)
	if err != nil {
		t.Fatal(err)
	}
	ssig.peer <- rig.sub
	t.Cleanup(rig.sub.close)
	sc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			go rig.sub.AddCandidate(c.ToJSON()) //nolint:errcheck // a test's loopback candidates
		}
	})
	sc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) { rig.arrived <- arrivedTrack{tr, recv} })

	rig.track = publishCamera(t, r)
	return rig
}

// keyPacket is a VP8 key frame packet (one packet a frame) numbered seq
// with timestamp ts; its payload ends with tag, so that a packet's
// copies can be told apart from others of the same number.
func keyPacket(seq uint16, ts uint32, tag uint64) []byte {
	pkt := []byte{0x80, 0x80 | 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x10, 0x00, 0, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], ts)
	return binary.BigEndian.AppendUint64(pkt, tag)
}

// TestOwnSRTPAcrossTheWrap: a subscriber decrypts what the SFU
// encrypts for it across a sequence number wrap (65535 → 0, where the
// rollover counter goes to 1), and a retransmission of a packet from
// before the wrap asked for after it (rollover counter 0 again), sent
// while the stream goes on; with the SFU as DTLS server and as client
// (each takes the other key), and on pion's path as asked. A wrong key
// or rollover counter and the subscriber decrypts nothing, or not the
// retransmission.
func TestOwnSRTPAcrossTheWrap(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pion          bool
		sfuDTLSClient bool
	}{
		{"own/sfu-dtls-server", false, false},
		{"own/sfu-dtls-client", false, true},
		{"pion", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig := newSRTPRig(t, Config{PionSRTP: tc.pion}, tc.sfuDTLSClient)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			// The publisher starts 600 packets before the wrap, 30 a
			// second until the subscriber has its first, then one a
			// millisecond, until the test ends.
			const first = uint16(65536 - 600)
			going := make(chan struct{})
			done := make(chan struct{})
			defer func() { cancel(); <-done }()
			go func() {
				defer close(done)
				fast := false
				for i := 0; ; i++ {
					wait := time.Second / 30
					if fast {
						wait = time.Millisecond
					}
					select {
					case <-ctx.Done():
						return
					case <-going:
						fast, going = true, nil
					case <-time.After(wait):
					}
					seq := first + uint16(i)
					if _, err := rig.track.Write(keyPacket(seq, uint32(i)*3000, uint64(seq))); err != nil {
						return
					}
				}
			}()

			var a arrivedTrack
			select {
			case a = <-rig.arrived:
			case <-ctx.Done():
				t.Fatal("the subscriber got no track within 30 s")
			}
			want := int32(outOwn)
			if tc.pion {
				want = outPion
			}
			if got := rig.sub.out.state.Load(); got != want {
				t.Fatalf("the subscriber's SRTP is %d, want %d", got, want)
			}
			ssrc := uint32(a.remote.SSRC())

			// Read everything; once 200 packets past the wrap came,
			// ask again for one 100 before it, until it comes twice.
			var (
				copies   = map[uint16]int{}
				payloads = map[uint16][]byte{}
				wrapped  bool
				prev     uint16
				started  bool
			)
			const asked = uint16(65436)
			close(going)
			nacks := time.NewTicker(100 * time.Millisecond)
			defer nacks.Stop()
			packets := make(chan *rtp.Packet, 64)
			go func() {
				for {
					p, _, err := a.remote.ReadRTP()
					if err != nil {
						close(packets)
						return
					}
					packets <- p
				}
			}()
			for copies[asked] < 2 {
				select {
				case <-ctx.Done():
					t.Fatalf("within 30 s: wrapped %v, last %d, %d copies of %d", wrapped, prev, copies[asked], asked)
				case p, ok := <-packets:
					if !ok {
						t.Fatal("the subscriber's track ended")
					}
					seq := p.SequenceNumber
					tag := p.Payload[len(p.Payload)-8:]
					if binary.BigEndian.Uint64(tag) != uint64(seq) {
						t.Fatalf("packet %d carries the payload of %d", seq, binary.BigEndian.Uint64(tag))
					}
					if old, ok := payloads[seq]; ok && !bytes.Equal(old, p.Payload) {
						t.Fatalf("packet %d again with another payload", seq)
					}
					payloads[seq] = p.Payload
					copies[seq]++
					if copies[seq] > 1 {
						continue // the retransmission
					}
					if started && seq != prev+1 {
						t.Fatalf("packet %d after %d: the ones between did not decrypt", seq, prev)
					}
					if started && seq < prev {
						wrapped = true
					}
					prev, started = seq, true
				case <-nacks.C:
					if wrapped && prev >= 200 && copies[asked] == 1 {
						nack := &rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{asked})}
						if err := rig.sc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if !wrapped || copies[asked] != 2 {
				t.Fatalf("wrapped %v, %d copies of %d", wrapped, copies[asked], asked)
			}
		})
	}
}

// TestOwnSenderReports: the subscriber's sender reports are the SFU's
// own (pion's interceptor sees none of the packets): their counts match
// what the subscriber received, and their RTP time is the stream's at
// the report's wall-clock time, within 40 ms. Frames of two packets
// every 300 ms, timestamps following the publisher's clock: reports
// every second fall at three phases of the frames, one at least 100 ms
// after a frame, where a wrong clock rate (48 kHz for 90) would be
// 47 ms off.
func TestOwnSenderReports(t *testing.T) {
	for _, pion := range []bool{false, true} {
		t.Run(fmt.Sprintf("pion=%v", pion), func(t *testing.T) {
			rig := newSRTPRig(t, Config{PionSRTP: pion}, false)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			done := make(chan struct{})
			defer func() { cancel(); <-done }()
			const payload = 20 // keyPacket's
			start := time.Now()
			go func() {
				defer close(done)
				tick := time.NewTicker(300 * time.Millisecond)
				defer tick.Stop()
				for seq := uint16(1); ; seq += 2 {
					select {
					case <-ctx.Done():
						return
					case now := <-tick.C:
						ts := uint32(now.Sub(start) * 90000 / time.Second)
						for i := uint16(0); i < 2; i++ {
							if _, err := rig.track.Write(keyPacket(seq+i, ts, uint64(seq+i))); err != nil {
								return
							}
						}
					}
				}
			}()
			var a arrivedTrack
			select {
			case a = <-rig.arrived:
			case <-ctx.Done():
				t.Fatal("the subscriber got no track within 30 s")
			}

			var mu sync.Mutex
			var received int
			var lastTS uint32
			var lastAt time.Time
			go func() {
				for {
					p, _, err := a.remote.ReadRTP()
					if err != nil {
						return
					}
					mu.Lock()
					received++
					lastTS, lastAt = p.Timestamp, time.Now()
					mu.Unlock()
				}
			}()
			ssrc := uint32(a.remote.SSRC())
			reports := 0
			for reports < 3 {
				pkts, _, err := a.recv.ReadRTCP()
				if err != nil {
					t.Fatal(err)
				}
				now := time.Now()
				for _, p := range pkts {
					sr, ok := p.(*rtcp.SenderReport)
					if !ok {
						continue
					}
					if sr.SSRC != ssrc {
						t.Fatalf("a sender report for %d, the track is %d", sr.SSRC, ssrc)
					}
					mu.Lock()
					n, ts, at := received, lastTS, lastAt
					mu.Unlock()
					if n == 0 {
						continue
					}
					reports++
					if d := int(sr.PacketCount) - n; d < -2 || d > 2 {
						t.Errorf("sender report counts %d packets, %d received", sr.PacketCount, n)
					}
					if sr.OctetCount != sr.PacketCount*payload {
						t.Errorf("sender report counts %d octets for %d packets of %d", sr.OctetCount, sr.PacketCount, payload)
					}
					// Extrapolated to the report's own time (its NTP
					// time), not to when this reader got it: a loaded
					// machine delays the report's reading by tens of ms
					// (CI: -83 ms off so), which says nothing of the
					// clock rate the report extrapolates with.
					wantTS := ts + uint32(fromNTP(sr.NTPTime).Sub(at)*90000/time.Second)
					if d := int32(sr.RTPTime - wantTS); d < -40*90 || d > 40*90 {
						t.Errorf("sender report's RTP time %d, the stream's %d (%.1f ms off)", sr.RTPTime, wantTS, float64(d)/90)
					}
					if d := now.Sub(fromNTP(sr.NTPTime)); d < -time.Second || d > time.Second {
						t.Errorf("sender report's NTP time is %v off", d)
					}
				}
			}
		})
	}
}

func fromNTP(t uint64) time.Time {
	secs := int64(t>>32) - 2208988800
	nanos := int64((t & 0xffffffff) * 1e9 >> 32)
	return time.Unix(secs, nanos)
}

// decrypter decrypts what a peer's own SRTP writes, with the same key,
// and keeps the packets.
type decrypter struct {
	mu     sync.Mutex
	ctx    *srtp.Context
	got    []rtp.Packet
	plain  [][]byte
	failed int
}

func newDecrypter(t *testing.T) *decrypter {
	ctx, err := srtp.CreateContext(make([]byte, 16), make([]byte, 12), srtp.ProtectionProfileAeadAes128Gcm,
		srtp.Cryptex(srtp.CryptexModeEnabled), srtp.SRTPNoReplayProtection())
	if err != nil {
		t.Fatal(err)
	}
	return &decrypter{ctx: ctx}
}

func (d *decrypter) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var h rtp.Header
	plain, err := d.ctx.DecryptRTP(nil, b, &h)
	if err != nil {
		d.failed++
		return len(b), nil
	}
	var p rtp.Packet
	if err := p.Unmarshal(plain); err != nil {
		d.failed++
		return len(b), nil
	}
	d.got = append(d.got, p)
	d.plain = append(d.plain, plain)
	return len(b), nil
}

// TestOwnSRTPForwardAndResend: forwarding, NACK retransmissions and
// sender reports of one subscriber at once, from three goroutines (run
// with -race); across a wrap; Cryptex switched on half way, as a
// renegotiation would. Every packet decrypts, the retransmissions to
// the payload first sent.
func TestOwnSRTPForwardAndResend(t *testing.T) {
	up, l := benchUpTrack()
	dec := newDecrypter(t)
	d := attachOwn(t, up, 0, dec)
	o := d.binding.Load().out
	raw := benchPacket(200)
	const n = 3000
	start := uint16(65536 - 1500)
	done := make(chan struct{})
	var nacks atomic.Int64 // NACK rounds made
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // NACKs for recent packets
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			up.fanout.Lock()
			last := d.lastSeq
			up.fanout.Unlock()
			d.retransmit(&rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{last - 3, last - 40})})
			nacks.Add(1)
			time.Sleep(100 * time.Microsecond)
		}
	}()
	go func() { // the report loop's reads
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if b := d.binding.Load(); b != nil {
				b.report(time.Now())
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for i := 0; i < n; i++ {
		if i > 0 && i%500 == 0 {
			// Some NACK rounds run while the stream goes on, however the
			// goroutines are scheduled.
			for r := nacks.Load(); nacks.Load() < r+2; {
				time.Sleep(50 * time.Microsecond)
			}
		}
		if i == n/2 {
			o.dtLock.Lock()
			*o.cryptex = srtp.CryptexModeEnabled
			o.dtLock.Unlock()
		}
		seq := start + uint16(i)
		binary.BigEndian.PutUint16(raw[2:], seq)
		binary.BigEndian.PutUint32(raw[4:], uint32(i)*3000)
		binary.BigEndian.PutUint16(raw[len(raw)-2:], seq)
		raw[1] |= 0x80
		up.route(l, raw, int64(i)*1000)
	}
	close(done)
	wg.Wait()

	dec.mu.Lock()
	defer dec.mu.Unlock()
	if dec.failed > 0 {
		t.Fatalf("%d of %d packets did not decrypt", dec.failed, dec.failed+len(dec.got))
	}
	first, again := map[uint16]bool{}, 0
	for _, p := range dec.got {
		if got := binary.BigEndian.Uint16(p.Payload[len(p.Payload)-2:]); got != p.SequenceNumber {
			t.Fatalf("packet %d carries the payload of %d", p.SequenceNumber, got)
		}
		if first[p.SequenceNumber] {
			again++
		}
		first[p.SequenceNumber] = true
	}
	if len(first) != n || again == 0 {
		t.Fatalf("%d packets, %d retransmissions; want %d and some", len(first), again, n)
	}
	sr := d.binding.Load().report(time.Now())
	if sr == nil || int(sr.PacketCount) != len(dec.got) {
		t.Fatalf("sender report %+v, %d packets sent", sr, len(dec.got))
	}
}

// TestOwnSRTPDoesNotAllocate: forwarding through the peer's own SRTP
// allocates nothing per packet.
func TestOwnSRTPDoesNotAllocate(t *testing.T) {
	up, l := benchUpTrack()
	for i := 0; i < 10; i++ {
		attachOwn(t, up, i, &discardConn{closed: make(chan struct{})})
	}
	raw := benchPacket(1000)
	seq := uint16(0)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		binary.BigEndian.PutUint16(raw[2:], seq)
		binary.BigEndian.PutUint32(raw[4:], uint32(seq/4)*3000)
		up.route(l, raw, int64(seq)*1000)
	})
	if allocs != 0 {
		t.Errorf("route allocates %.1f times per packet, want 0", allocs)
	}
	// The last frame's four packets wait for the next timestamp.
	if got := up.owner.router.sfu.forwardedPackets.Load(); got < 9960 {
		t.Errorf("forwarded %d packets, want at least 9960", got)
	}
}

// TestOwnSRTPMarshalsAsPion: what the peer's own SRTP encrypts is the
// packet pion would have marshalled (padding, extensions, CSRCs), with
// Cryptex off and on.
func TestOwnSRTPMarshalsAsPion(t *testing.T) {
	dec := newDecrypter(t)
	o := newTestOut(t, dec)
	h := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: 7, Timestamp: 960, SSRC: 42,
		CSRC: []uint32{1, 2}, Padding: true, PaddingSize: 7, Marker: true}
	if err := h.SetExtension(1, []byte{0x85}); err != nil {
		t.Fatal(err)
	}
	payload := []byte("an opus frame")
	for _, mode := range []srtp.CryptexMode{srtp.CryptexModeDisabled, srtp.CryptexModeEnabled} {
		*o.cryptex = mode
		h.SequenceNumber++
		if !o.write(&h, payload) {
			t.Fatal("not written")
		}
		want, err := (&rtp.Packet{Header: h, Payload: payload, PaddingSize: h.PaddingSize}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if dec.failed > 0 || len(dec.plain) == 0 {
			t.Fatalf("cryptex %d: did not decrypt", mode)
		}
		if got := dec.plain[len(dec.plain)-1]; !bytes.Equal(got, want) {
			t.Fatalf("cryptex %d: decrypted\n%x\nwant\n%x", mode, got, want)
		}
	}
}
