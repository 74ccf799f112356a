package sfu

import (
	"bytes"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// captureConn keeps a copy of every datagram written to it.
type captureConn struct {
	mu  sync.Mutex
	got [][]byte
}

func (c *captureConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, bytes.Clone(b))
	return len(b), nil
}

// TestOwnSRTPMatchesPionEveryProfile: srtpOut.write encrypts in
// place (dst aliases the plaintext). For every protection profile the SFU
// offers (AES-CM-HMAC as well as both GCMs; a client may offer only
// AES-CM), with Cryptex off and on, the bytes on the wire are exactly
// what a separate pion context with the same key makes out of place.
func TestOwnSRTPMatchesPionEveryProfile(t *testing.T) {
	for _, profile := range []srtp.ProtectionProfile{
		srtp.ProtectionProfileAes128CmHmacSha1_80,
		srtp.ProtectionProfileAeadAes128Gcm,
		srtp.ProtectionProfileAeadAes256Gcm,
	} {
		keyLen, err := profile.KeyLen()
		if err != nil {
			t.Fatal(err)
		}
		saltLen, err := profile.SaltLen()
		if err != nil {
			t.Fatal(err)
		}
		key, salt := make([]byte, keyLen), make([]byte, saltLen)
		_, _ = rand.Read(key)
		_, _ = rand.Read(salt)
		ours, err := srtp.CreateContext(key, salt, profile)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := srtp.CreateContext(key, salt, profile)
		if err != nil {
			t.Fatal(err)
		}
		w := &captureConn{}
		o := newSRTPOut()
		o.use(ownKeys{ctx: ours, w: w, lock: new(sync.RWMutex), cryptex: new(srtp.CryptexMode)})
		o.state.Store(outOwn)

		payload := make([]byte, 1200)
		_, _ = rand.Read(payload)
		seq := uint16(65530) // across a wrap
		for i, mode := range []srtp.CryptexMode{srtp.CryptexModeDisabled, srtp.CryptexModeEnabled} {
			*o.cryptex = mode
			if err := ref.UpdateOptions(srtp.Cryptex(mode)); err != nil {
				t.Fatal(err)
			}
			for j := 0; j < 6; j++ {
				seq++
				h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(i*6+j) * 3000,
					SSRC: 777, Marker: j%2 == 0}
				if j%3 == 1 {
					h.CSRC = []uint32{9}
					if err := h.SetExtension(1, []byte{0x85}); err != nil {
						t.Fatal(err)
					}
				}
				if j%3 == 2 {
					h.Padding, h.PaddingSize = true, 5
				}
				if !o.write(&h, payload) {
					t.Fatalf("profile %v cryptex %d: not written", profile, mode)
				}
				plain, err := (&rtp.Packet{Header: h, Payload: payload, PaddingSize: h.PaddingSize}).Marshal()
				if err != nil {
					t.Fatal(err)
				}
				want, err := ref.EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := w.got[len(w.got)-1]; !bytes.Equal(got, want) {
					t.Fatalf("profile %v cryptex %d seq %d: in place differs from pion's out of place", profile, mode, seq)
				}
			}
		}
	}
}
