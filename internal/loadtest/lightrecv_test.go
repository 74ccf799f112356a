package loadtest

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// lightTestKeys makes an encrypting context and the two candidate
// decrypting contexts, the wrong DTLS role first (the first packet picks).
func lightTestKeys(t testing.TB) (enc *srtp.Context, cands [2]*srtp.Context) {
	t.Helper()
	key, salt := make([]byte, 16), make([]byte, 12)
	for i := range key {
		key[i] = byte(i)
	}
	profile := srtp.ProtectionProfileAeadAes128Gcm
	enc, err := srtp.CreateContext(key, salt, profile)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := append([]byte(nil), key...)
	wrongKey[0] ^= 1
	wrong, _ := srtp.CreateContext(wrongKey, salt, profile)
	right, _ := srtp.CreateContext(key, salt, profile)
	return enc, [2]*srtp.Context{wrong, right}
}

// lightTestPacket is an SRTP packet of a VP8-like payload of size bytes.
func lightTestPacket(t testing.TB, enc *srtp.Context, ssrc uint32, seq uint16, size int) []byte {
	t.Helper()
	payload := make([]byte, size)
	copy(payload, "payload")
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: ssrc},
		Payload: payload}).Marshal()
	out, err := enc.EncryptRTP(nil, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLightTake: the light path counts an authentic RTP packet of a
// registered track, decrypted; drops (and counts as failed) one that does
// not authenticate, so it shows as lost; and leaves to pion RTCP, packets
// of unknown tracks and packets from other addresses (also right after a
// packet of a known track, which the lookup remembers).
func TestLightTake(t *testing.T) {
	enc, cands := lightTestKeys(t)
	server := netip.MustParseAddrPort("127.0.0.1:4000")
	stats := &trackStats{}
	s := &lightSocket{plain: make([]byte, 1500)}
	routes := map[lightKey]*lightTrack{}
	s.routes.Store(&routes)
	s.route(lightKey{server, 42}, &lightTrack{peer: &lightPeer{candidates: cands}, stats: stats})
	now := time.Now()
	unique := func() int64 { return stats.snapshot().unique }
	if !s.take(lightTestPacket(t, enc, 42, 1, 7), server, now) || unique() != 1 {
		t.Fatalf("an authentic packet: counted %d", unique())
	}
	forged := lightTestPacket(t, enc, 42, 2, 7)
	forged[len(forged)-1] ^= 1
	if !s.take(forged, server, now) || unique() != 1 || s.failed.Load() != 1 {
		t.Errorf("a forged packet: counted %d, failed %d; want dropped and counted as failed", unique(), s.failed.Load())
	}
	if s.take(lightTestPacket(t, enc, 7, 1, 7), server, now) {
		t.Error("a packet of a track not registered was taken")
	}
	if !s.take(lightTestPacket(t, enc, 42, 3, 7), server, now) || unique() != 2 {
		t.Errorf("counted %d, want 2", unique())
	}
	if s.take(lightTestPacket(t, enc, 42, 4, 7), netip.MustParseAddrPort("127.0.0.1:4001"), now) {
		t.Error("a packet from another address was taken")
	}
	rtcp := []byte{0x80, 200, 0, 6, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if s.take(rtcp, server, now) {
		t.Error("a sender report was taken")
	}
	if !s.take(lightTestPacket(t, enc, 42, 5, 7), server, now) || unique() != 3 || s.taken.Load() != 3 {
		t.Errorf("taken %d, counted %d, want 3", s.taken.Load(), unique())
	}
}

// TestLightReaderCounts: the reader (non-blocking recvmmsg on its own
// thread, a tick's sleep between drains) counts what a server sends a
// registered track through a real socket, more than one batch of it,
// counts a packet failing SRTP authentication as failed and not as
// received, and hands RTCP on to pion's side. It fails if the reader
// counts nothing, or counts the forged packet.
func TestLightReaderCounts(t *testing.T) {
	enc, cands := lightTestKeys(t)
	lr := &lightReceivers{}
	defer lr.close()
	_, s, err := lr.api()
	if err != nil {
		t.Fatal(err)
	}
	server, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	stats := &trackStats{video: true}
	s.mu.Lock()
	s.route(lightKey{server.LocalAddr().(*net.UDPAddr).AddrPort(), 42}, &lightTrack{peer: &lightPeer{candidates: cands}, stats: stats})
	s.mu.Unlock()
	const n = 3*lightBatch + 5 // more than a batch: a full batch is read again at once
	to := s.LocalAddr()
	for i := range n {
		p := lightTestPacket(t, enc, 42, uint16(1000+i), 1100)
		if i == n/2 {
			// A forgery of the packet that follows, sent first.
			forged := append([]byte(nil), p...)
			forged[20] ^= 1
			if _, err := server.WriteTo(forged, to); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := server.WriteTo(p, to); err != nil {
			t.Fatal(err)
		}
	}
	rtcp := []byte{0x80, 200, 0, 6, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if _, err := server.WriteTo(rtcp, to); err != nil {
		t.Fatal(err)
	}
	// Everything was sent before this point; the reader drains it within
	// a few ticks.
	deadline := time.Now().Add(10 * time.Second)
	for s.taken.Load()+s.failed.Load() < n+1 || s.toPionN.Load() < 1 {
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(lightTick)
	}
	c := stats.snapshot()
	if s.taken.Load() != n || c.unique != n || c.expected != n {
		t.Errorf("taken %d, counted %d of %d expected; want %d of %d", s.taken.Load(), c.unique, c.expected, n, n)
	}
	if s.failed.Load() != 1 {
		t.Errorf("%d packets failed authentication, want the forged one", s.failed.Load())
	}
	if s.toPionN.Load() != 1 {
		t.Errorf("%d packets handed to pion, want the sender report", s.toPionN.Load())
	}
}

// BenchmarkLightTake: decrypting and counting one 1100-byte media packet
// on the light path, by its reader; 0 allocations per packet.
func BenchmarkLightTake(b *testing.B) {
	const pool = 4096
	enc, cands := lightTestKeys(b)
	packets := make([][]byte, pool)
	for i := range packets {
		packets[i] = lightTestPacket(b, enc, 42, uint16(i), 1100)
	}
	server := netip.MustParseAddrPort("127.0.0.1:4000")
	fresh := func() *lightSocket {
		s := &lightSocket{plain: make([]byte, 1500)}
		routes := map[lightKey]*lightTrack{}
		s.routes.Store(&routes)
		_, cands = lightTestKeys(b) // new replay windows
		s.route(lightKey{server, 42}, &lightTrack{peer: &lightPeer{candidates: cands}, stats: &trackStats{video: true}})
		return s
	}
	s := fresh()
	now := time.Now()
	b.ReportAllocs()
	b.SetBytes(1100)
	b.ResetTimer()
	for i := range b.N {
		if i%pool == 0 && i > 0 {
			b.StopTimer()
			s = fresh()
			b.StartTimer()
		}
		if !s.take(packets[i%pool], server, now) {
			b.Fatal("not taken")
		}
	}
	if s.failed.Load() != 0 {
		b.Fatalf("%d failed", s.failed.Load())
	}
}
