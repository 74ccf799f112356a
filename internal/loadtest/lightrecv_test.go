package loadtest

import (
	"net/netip"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// TestLightTake: the light path counts an authentic RTP packet of a
// registered track, decrypted; drops (and counts as failed) one that does
// not authenticate, so it shows as lost; and leaves to pion RTCP, packets
// of unknown tracks and packets from other addresses.
func TestLightTake(t *testing.T) {
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
	server := netip.MustParseAddrPort("127.0.0.1:4000")
	var got [][]byte
	s := &lightSocket{peers: map[netip.AddrPort]*lightPeer{server: {
		candidates: [2]*srtp.Context{wrong, right}, // the wrong role first: the first packet picks
		tracks:     map[uint32]func([]byte){42: func(b []byte) { got = append(got, append([]byte(nil), b...)) }},
	}}, plain: make([]byte, 1500)}
	packet := func(ssrc uint32, seq uint16) []byte {
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: ssrc},
			Payload: []byte("payload")}).Marshal()
		out, err := enc.EncryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if !s.take(packet(42, 1), server) || len(got) != 1 || string(got[0][12:]) != "payload" {
		t.Fatalf("an authentic packet: counted %d, %q", len(got), got)
	}
	forged := packet(42, 2)
	forged[len(forged)-1] ^= 1
	if !s.take(forged, server) || len(got) != 1 || s.failed.Load() != 1 {
		t.Errorf("a forged packet: observed %d, failed %d; want dropped and counted as failed", len(got), s.failed.Load())
	}
	if s.take(packet(7, 1), server) {
		t.Error("a packet of a track not registered was taken")
	}
	if s.take(packet(42, 3), netip.MustParseAddrPort("127.0.0.1:4001")) {
		t.Error("a packet from another address was taken")
	}
	rtcp := []byte{0x80, 200, 0, 6, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if s.take(rtcp, server) {
		t.Error("a sender report was taken")
	}
	if !s.take(packet(42, 4), server) || len(got) != 2 || s.taken.Load() != 2 {
		t.Errorf("taken %d, observed %d, want 2", s.taken.Load(), len(got))
	}
}
