package sfu

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// TestHostilePublisherCannotReuseAnSRTPIndex: a publisher controls the
// sequence numbers the SFU receives, and within a segment a DownTrack
// sends each with a constant offset, so the subscriber's SRTP context
// (one per PeerConnection, whose rollover counter follows what the SFU
// sent) must never be made to encrypt a second, different packet under a
// packet index it already used (same AES-CTR keystream / GCM nonce).
//
// The publisher sends 40,000 ordinary packets, then one 32,000 ahead
// that the SFU's own SRTP receive context accepts (replay protection on,
// as pion's default) but the UpTrack drops (padding length 0), then one
// another 32,000 ahead, accepted again. The SFU's receive context saw
// two steps forward; the subscriber's send context saw one step of
// 64,000, which it reads as a packet 1,536 behind, under the index of a
// packet it already sent with other content.
func TestHostilePublisherCannotReuseAnSRTPIndex(t *testing.T) {
	up, l := benchUpTrack()
	w := &captureConn{}
	d := attachOwn(t, up, 0, w)

	// The publisher's SRTP and the SFU's receive side of it.
	key, salt := make([]byte, 16), make([]byte, 12)
	key[0], salt[0] = 1, 2
	pub, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}

	// plain[outSeq] is what each forwarded packet carried, in order.
	var plains [][]byte
	frame := uint32(0)
	send := func(seq uint16, badPadding bool, tag uint32) {
		t.Helper()
		frame++
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: frame * 3000, SSRC: 1234, Marker: true}
		payload := make([]byte, 200)
		payload[0], payload[1] = 0x10, 0x01 // VP8 descriptor, inter frame
		binary.BigEndian.PutUint32(payload[2:], tag)
		raw, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if badPadding {
			raw[0] |= 0x20 // padding, its length byte (the last) 0
			raw[len(raw)-1] = 0
		}
		enc, err := pub.EncryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := rx.DecryptRTP(nil, enc, nil)
		if err != nil {
			return // the SFU's receive context refused it: never forwarded
		}
		before := len(w.got)
		up.route(l, dec, int64(frame)*1000)
		if len(w.got) > before {
			plains = append(plains, payload)
		}
	}

	seq := uint16(1000)
	for i := 0; i < 40000; i++ {
		send(seq, false, uint32(i))
		seq++
	}
	seq--
	send(seq+32000, true, 0xdead0001)
	send(seq+64000, false, 0xdead0002)
	send(seq+64001, false, 0xdead0003)

	if len(plains) != len(w.got) {
		t.Fatalf("%d packets written, %d plaintexts recorded", len(w.got), len(plains))
	}
	// Same GCM nonce <=> same keystream: C XOR P equal for two packets.
	bySeq := map[uint16][]int{}
	for i, c := range w.got {
		bySeq[binary.BigEndian.Uint16(c[2:])] = append(bySeq[binary.BigEndian.Uint16(c[2:])], i)
	}
	keystream := func(i int) []byte {
		c, p := w.got[i][12:12+32], plains[i][:32]
		ks := make([]byte, 32)
		for j := range ks {
			ks[j] = c[j] ^ p[j]
		}
		return ks
	}
	for s, idx := range bySeq {
		for a := 0; a < len(idx); a++ {
			for b := a + 1; b < len(idx); b++ {
				if !bytes.Equal(plains[idx[a]], plains[idx[b]]) && bytes.Equal(keystream(idx[a]), keystream(idx[b])) {
					t.Errorf("sequence number %d: packets %d and %d, different payloads, encrypted with the same keystream (nonce reused); subscriber SSRC %d",
						s, idx[a], idx[b], d.binding.Load().ssrc)
				}
			}
		}
	}
}

// TestSeqGuard: an honest stream (a wrap, reordering, loss) is routed
// whole; a packet too far ahead of or behind the newest routed is not, and
// a packet dropped after the check does not move what "newest" means.
func TestSeqGuard(t *testing.T) {
	type step struct {
		seq    uint16
		routed bool // route forwards it (false: dropped after the check)
		want   bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"wrap and reorder", []step{{65533, true, true}, {65535, true, true}, {65534, true, true}, {1, true, true}, {0, true, true}, {2, true, true}}},
		{"loss of 20000", []step{{10, true, true}, {20010, true, true}, {20011, true, true}}},
		{"one step too far", []step{{10, true, true}, {10 + seqAhead, true, false}, {11, true, true}}},
		{"two steps, the first dropped", []step{{1000, true, true}, {32000, false, true}, {63000, true, false}, {63001, true, false}}},
		{"two steps, both routed", []step{{1000, true, true}, {32000, true, true}, {63000, true, true}}},
		{"far behind", []step{{5000, true, true}, {5000 - seqBehind, true, true}, {5000 - seqBehind - 1, true, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var g seqGuard
			for i, s := range c.steps {
				ext, ok := g.check(s.seq)
				if ok != s.want {
					t.Fatalf("step %d (seq %d): routable %v, want %v", i, s.seq, ok, s.want)
				}
				if ok && s.routed {
					g.routed(ext)
				}
			}
		})
	}
}
