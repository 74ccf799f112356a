// Package e2eetest makes valid MLS KeyPackages in Go, for tests that join
// end-to-end encrypted meetings without a browser: the server checks every
// KeyPackage it is sent (e2ee.CheckKeyPackage), so opaque stand-ins no
// longer do.
package e2eetest

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
)

// KeyPackage returns the encoded KeyPackage New(seed) makes: the same
// bytes for the same seed, different ones for different seeds.
func KeyPackage(seed string) []byte {
	kp, _ := New(seed)
	return kp.Marshal()
}

// New makes a signed KeyPackage shaped like the web client's (cipher suite
// 0x0001, the capabilities ts-mls lists, a lifetime without end, a basic
// credential in the client's v2 layout for a guest), with keys derived
// from seed, and returns it with the leaf's signing key so that a test
// can change it and sign it again.
func New(seed string) (*e2ee.KeyPackage, ed25519.PrivateKey) {
	derive := func(purpose string) []byte {
		h := sha256.Sum256([]byte("kaigi e2eetest " + purpose + " " + seed))
		return h[:]
	}
	leaf := ed25519.NewKeyFromSeed(derive("leaf"))
	device := ed25519.NewKeyFromSeed(derive("device"))
	hpke := func(purpose string) []byte {
		k, err := ecdh.X25519().NewPrivateKey(derive(purpose))
		if err != nil {
			panic(err) // any 32 bytes are an X25519 private key
		}
		return k.PublicKey().Bytes()
	}
	kp := &e2ee.KeyPackage{
		Version:     e2ee.ProtocolMLS10,
		CipherSuite: e2ee.CipherSuite,
		InitKey:     hpke("init"),
		Leaf: e2ee.LeafNode{
			EncryptionKey: hpke("encryption"),
			SignatureKey:  leaf.Public().(ed25519.PublicKey),
			Credential:    e2ee.Credential{Type: e2ee.CredentialBasic, Identity: credential(device, leaf.Public().(ed25519.PublicKey))},
			Capabilities: e2ee.Capabilities{
				Versions:     []uint16{e2ee.ProtocolMLS10},
				CipherSuites: []uint16{1, 2, 3, 4, 5, 6, 7},
				Credentials:  []uint16{e2ee.CredentialBasic, e2ee.CredentialX509},
			},
			Source:   e2ee.SourceKeyPackage,
			NotAfter: 1<<63 - 1,
		},
	}
	kp.Sign(leaf)
	return kp, leaf
}

// credential is a guest's leaf credential as web/src/e2ee/credential.ts
// lays it out: version 2, the device key, an empty account, and the
// device's signature over the label, the leaf key and the account.
func credential(device ed25519.PrivateKey, leafKey ed25519.PublicKey) []byte {
	signed := append([]byte("Kaigi leaf credential v2\x00"), leafKey...)
	signed = append(signed, 0)
	out := append([]byte{2}, device.Public().(ed25519.PublicKey)...)
	out = append(out, 0)
	return append(out, ed25519.Sign(device, signed)...)
}
