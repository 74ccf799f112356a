package e2ee_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/e2ee/e2eetest"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// webKeyPackages are KeyPackages the web client made with its own code
// (web/test/tools/key-packages.mjs).
func webKeyPackages(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/keypackages/*.b64")
	if err != nil || len(files) == 0 {
		t.Fatalf("no KeyPackages in testdata/keypackages (%v)", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func TestWebClientKeyPackagesAreAccepted(t *testing.T) {
	for name, b := range webKeyPackages(t) {
		kp, err := e2ee.CheckKeyPackage(b, now)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(kp.Marshal(), b) {
			t.Errorf("%s: encodes back to other bytes", name)
		}
		if kp.Leaf.Credential.Type != e2ee.CredentialBasic || len(kp.Leaf.Credential.Identity) == 0 {
			t.Errorf("%s: credential %+v", name, kp.Leaf.Credential)
		}
	}
}

func TestGoBuiltKeyPackagesAreAccepted(t *testing.T) {
	a, b := e2eetest.KeyPackage("ada"), e2eetest.KeyPackage("bob")
	for _, kp := range [][]byte{a, b} {
		if _, err := e2ee.CheckKeyPackage(kp, now); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Equal(a, b) || !bytes.Equal(a, e2eetest.KeyPackage("ada")) {
		t.Fatal("KeyPackages are not one per seed")
	}
}

// TestKeyPackageChanges: each thing wrong with a KeyPackage that is
// otherwise valid and signed is refused, and the error says what.
func TestKeyPackageChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(*e2ee.KeyPackage)
		want   string
	}{
		{"protocol version", func(kp *e2ee.KeyPackage) { kp.Version = 2 }, "protocol version"},
		{"another cipher suite", func(kp *e2ee.KeyPackage) { kp.CipherSuite = 3 }, "cipher suite 0x0003"},
		{"short init key", func(kp *e2ee.KeyPackage) { kp.InitKey = kp.InitKey[:31] }, "init key"},
		{"init key is the encryption key", func(kp *e2ee.KeyPackage) { kp.InitKey = kp.Leaf.EncryptionKey }, "init key is the leaf's"},
		{"leaf from an update", func(kp *e2ee.KeyPackage) { kp.Leaf.Source = e2ee.SourceUpdate }, "leaf_node_source 2"},
		{"x509 credential", func(kp *e2ee.KeyPackage) {
			kp.Leaf.Credential = e2ee.Credential{Type: e2ee.CredentialX509, Certificates: [][]byte{{1, 2, 3}}}
		}, "not basic"},
		{"capabilities without mls10", func(kp *e2ee.KeyPackage) { kp.Leaf.Capabilities.Versions = []uint16{2} }, "mls10"},
		{"capabilities without the suite", func(kp *e2ee.KeyPackage) { kp.Leaf.Capabilities.CipherSuites = []uint16{2, 3} }, "cipher suite 0x0001"},
		{"capabilities without basic", func(kp *e2ee.KeyPackage) { kp.Leaf.Capabilities.Credentials = []uint16{2} }, "credential type"},
		{"unlisted leaf extension", func(kp *e2ee.KeyPackage) {
			kp.Leaf.Extensions = []e2ee.Extension{{Type: 0xf00d, Data: []byte("x")}}
		}, "extension 61453"},
		{"expired", func(kp *e2ee.KeyPackage) { kp.Leaf.NotAfter = uint64(now.Add(-time.Hour).Unix()) }, "lifetime"},
		{"not yet valid", func(kp *e2ee.KeyPackage) { kp.Leaf.NotBefore = uint64(now.Add(time.Hour).Unix()) }, "lifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, key := e2eetest.New("ada")
			tt.change(kp)
			kp.Sign(key)
			_, err := e2ee.CheckKeyPackage(kp.Marshal(), now)
			if !errors.Is(err, e2ee.ErrBadKeyPackage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadKeyPackage saying %q", err, tt.want)
			}
		})
	}
	// Listed, the same extension is fine.
	kp, key := e2eetest.New("ada")
	kp.Leaf.Extensions = []e2ee.Extension{{Type: 0xf00d, Data: []byte("x")}}
	kp.Leaf.Capabilities.Extensions = []uint16{0xf00d}
	kp.Sign(key)
	if _, err := e2ee.CheckKeyPackage(kp.Marshal(), now); err != nil {
		t.Fatalf("a listed extension: %v", err)
	}
}

func TestKeyPackageSignatures(t *testing.T) {
	kp, key := e2eetest.New("ada")
	_, other := e2eetest.New("bob")
	tests := []struct {
		name   string
		change func(*e2ee.KeyPackage)
		want   string
	}{
		{"signed by another key", func(kp *e2ee.KeyPackage) { kp.Sign(other) }, "leaf's signature"},
		{"leaf changed after signing", func(kp *e2ee.KeyPackage) {
			kp.Leaf.Credential.Identity = append([]byte{}, kp.Leaf.Credential.Identity...)
			kp.Leaf.Credential.Identity[40] ^= 1
		}, "leaf's signature"},
		{"KeyPackage changed after signing", func(kp *e2ee.KeyPackage) {
			kp.InitKey = append([]byte{}, kp.InitKey...)
			kp.InitKey[0] ^= 1
		}, "KeyPackage's signature"},
		{"leaf signed, KeyPackage not", func(kp *e2ee.KeyPackage) {
			kp.Sign(key)
			kp.Signature = make([]byte, ed25519.SignatureSize)
		}, "KeyPackage's signature"},
		{"truncated signature", func(kp *e2ee.KeyPackage) { kp.Signature = kp.Signature[:63] }, "signatures of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *kp
			tt.change(&c)
			_, err := e2ee.CheckKeyPackage(c.Marshal(), now)
			if !errors.Is(err, e2ee.ErrBadKeyPackage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadKeyPackage saying %q", err, tt.want)
			}
		})
	}
}

// TestKeyPackageEncoding: the web client's KeyPackages with their bytes
// changed: framing, vector headers, lengths, and signatures.
func TestKeyPackageEncoding(t *testing.T) {
	valid := webKeyPackages(t)["web-account.b64"]
	if valid == nil {
		t.Fatal("no web-account.b64")
	}
	// The MLSMessage header is 4 bytes, then version and suite (4), then
	// init_key<V>: a 1-byte header (32) and the key.
	if valid[8] != 32 {
		t.Fatalf("init key header %d, want 32", valid[8])
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "0 bytes"},
		{"over 16 KiB", append(bytes.Clone(valid), make([]byte, e2ee.MaxKeyPackage)...), "bytes, not 1 to 16384"},
		{"MLSMessage version", edit(func(b []byte) []byte { b[1] = 2; return b }), "MLSMessage protocol version 2"},
		{"a Welcome", edit(func(b []byte) []byte { b[3] = 3; return b }), "wire format 3"},
		{"KeyPackage version", edit(func(b []byte) []byte { b[5] = 0; return b }), "protocol version 0"},
		{"another suite", edit(func(b []byte) []byte { b[7] = 2; return b }), "cipher suite 0x0002"},
		{"trailing byte", append(bytes.Clone(valid), 0), "1 bytes after the KeyPackage"},
		{"a vector longer than what is left", edit(func(b []byte) []byte { b[8] = 0x7f; b[9] = 0xff; return b }), "bytes needed"},
		{"a length not in its shortest form", edit(func(b []byte) []byte {
			return append(append(b[:8:8], 0x40, 32), b[9:]...)
		}), "fewest bytes"},
		{"a length header of 0b11", edit(func(b []byte) []byte { b[8] = 0xc0; return b }), "0b11"},
		{"a vector too short for its contents", edit(func(b []byte) []byte { b[8] = 31; return b }), ""},
		{"a signature bit flipped", edit(func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }), "KeyPackage's signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e2ee.CheckKeyPackage(tt.b, now)
			if !errors.Is(err, e2ee.ErrBadKeyPackage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadKeyPackage saying %q", err, tt.want)
			}
		})
	}
	for n := range len(valid) {
		if _, err := e2ee.CheckKeyPackage(valid[:n], now); !errors.Is(err, e2ee.ErrBadKeyPackage) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(valid), err)
		}
	}
	for i := range len(valid) {
		b := bytes.Clone(valid)
		b[i] ^= 0x01
		if _, err := e2ee.CheckKeyPackage(b, now); err == nil {
			t.Fatalf("accepted with byte %d changed", i)
		}
	}
}

func BenchmarkCheckKeyPackage(b *testing.B) {
	kp := webKeyPackages(b)["web-guest.b64"]
	for b.Loop() {
		if _, err := e2ee.CheckKeyPackage(kp, now); err != nil {
			b.Fatal(err)
		}
	}
}
