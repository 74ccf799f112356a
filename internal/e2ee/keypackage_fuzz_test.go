package e2ee_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/e2ee"
	"github.com/kaigi-meet/kaigi/internal/e2ee/e2eetest"
)

// FuzzKeyPackage: the KeyPackage check never panics and refuses with
// ErrBadKeyPackage; what parses is the one encoding of what it parsed to
// (Marshal gives the input back), and what the full check accepts parses.
func FuzzKeyPackage(f *testing.F) {
	for _, b := range webKeyPackages(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add(e2eetest.KeyPackage("ada"))
	kp, key := e2eetest.New("x509")
	kp.Leaf.Credential = e2ee.Credential{Type: e2ee.CredentialX509, Certificates: [][]byte{{1}, {2, 3}}}
	kp.Leaf.Source = e2ee.SourceCommit
	kp.Leaf.ParentHash = []byte{4, 5}
	kp.Leaf.Extensions = []e2ee.Extension{{Type: 1, Data: []byte("app")}}
	kp.Sign(key)
	f.Add(kp.Marshal())
	f.Add([]byte{0, 1, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		parsed, perr := e2ee.ParseKeyPackage(b)
		checked, cerr := e2ee.CheckKeyPackage(b, now)
		switch {
		case perr != nil && !errors.Is(perr, e2ee.ErrBadKeyPackage):
			t.Fatalf("parse error %v is not ErrBadKeyPackage", perr)
		case cerr != nil && !errors.Is(cerr, e2ee.ErrBadKeyPackage):
			t.Fatalf("check error %v is not ErrBadKeyPackage", cerr)
		case (perr == nil) != (parsed != nil) || (cerr == nil) != (checked != nil):
			t.Fatal("a result with an error, or neither")
		case perr != nil && cerr == nil:
			t.Fatalf("checked but does not parse: %v", perr)
		case perr != nil:
			return
		case len(b) > e2ee.MaxKeyPackage:
			t.Fatalf("parsed %d bytes", len(b))
		}
		out := parsed.Marshal()
		if !bytes.Equal(out, b) {
			t.Fatalf("parsed, but encodes to other bytes:\n in  %x\n out %x", b, out)
		}
		again, err := e2ee.ParseKeyPackage(out)
		if err != nil || !bytes.Equal(again.Marshal(), out) {
			t.Fatalf("re-encoding does not parse back: %v", err)
		}
		if cerr == nil && (checked.CipherSuite != e2ee.CipherSuite || checked.Leaf.Source != e2ee.SourceKeyPackage) {
			t.Fatalf("accepted %+v", checked)
		}
	})
}
