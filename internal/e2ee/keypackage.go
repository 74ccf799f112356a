package e2ee

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"slices"
	"time"
)

// A KeyPackage is the one MLS message the server reads. A participant sends
// it in hello; the server hands it to the member who adds them, and keeps
// it to name the leaf to remove when they leave. It is checked at the
// boundary (CheckKeyPackage) so that a malformed or foreign one is refused
// at once, with a clear reason, instead of travelling to a member's
// browser and failing there. Only the MLS structure and signatures are
// checked: whether the leaf's credential is a device's certificate for
// the account it names is the members' check (web/src/e2ee/credential.ts),
// as the server is not trusted with it.
//
// Web clients send it as an MLSMessage (RFC 9420 §6) with wire_format
// mls_key_package, in the one cipher suite they use.

// The MLS code points Kaigi uses (RFC 9420 §17).
const (
	// ProtocolMLS10 is ProtocolVersion mls10.
	ProtocolMLS10 = 1
	// WireFormatKeyPackage is WireFormat mls_key_package.
	WireFormatKeyPackage = 5
	// CipherSuite is the only cipher suite Kaigi's clients use:
	// MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519.
	CipherSuite = 0x0001
	// CredentialBasic and CredentialX509 are the credential types.
	CredentialBasic = 1
	CredentialX509  = 2
)

// LeafNodeSource values (RFC 9420 §7.2).
const (
	SourceKeyPackage = 1
	SourceUpdate     = 2
	SourceCommit     = 3
)

// In CipherSuite, HPKE public keys (X25519) and signature keys (Ed25519) are
// 32 bytes, signatures 64.
const (
	hpkeKeySize   = 32
	signatureSize = ed25519.SignatureSize
)

// KeyPackage is an MLS KeyPackage (RFC 9420 §10) as parsed from an
// MLSMessage. Its byte slices alias the parsed message.
type KeyPackage struct {
	Version     uint16
	CipherSuite uint16
	InitKey     []byte
	Leaf        LeafNode
	Extensions  []Extension
	Signature   []byte
}

// LeafNode is the KeyPackage's leaf (RFC 9420 §7.2). Lifetime is set for
// SourceKeyPackage, ParentHash for SourceCommit.
type LeafNode struct {
	EncryptionKey []byte
	SignatureKey  []byte
	Credential    Credential
	Capabilities  Capabilities
	Source        uint8
	NotBefore     uint64
	NotAfter      uint64
	ParentHash    []byte
	Extensions    []Extension
	Signature     []byte
}

// Credential is a basic credential's identity or an X.509 chain (RFC 9420
// §5.3).
type Credential struct {
	Type         uint16
	Identity     []byte
	Certificates [][]byte
}

// Capabilities says what the leaf's client supports (RFC 9420 §7.2).
type Capabilities struct {
	Versions     []uint16
	CipherSuites []uint16
	Extensions   []uint16
	Proposals    []uint16
	Credentials  []uint16
}

// Extension is one extension of a leaf or KeyPackage (RFC 9420 §13).
type Extension struct {
	Type uint16
	Data []byte
}

// ParseKeyPackage reads an MLSMessage carrying a KeyPackage, of at most
// MaxKeyPackage bytes, in full: every field and vector, with nothing left
// over. It checks the structure only; CheckKeyPackage checks the rest.
// The result aliases b.
func ParseKeyPackage(b []byte) (*KeyPackage, error) {
	if len(b) == 0 || len(b) > MaxKeyPackage {
		return nil, fmt.Errorf("%w: %d bytes, not 1 to %d", ErrBadKeyPackage, len(b), MaxKeyPackage)
	}
	r := &reader{b: b}
	if v := r.u16("MLSMessage version"); r.err == nil && v != ProtocolMLS10 {
		return nil, fmt.Errorf("%w: MLSMessage protocol version %d, not mls10", ErrBadKeyPackage, v)
	}
	if wf := r.u16("wire_format"); r.err == nil && wf != WireFormatKeyPackage {
		return nil, fmt.Errorf("%w: an MLSMessage of wire format %d, not a KeyPackage (%d)", ErrBadKeyPackage, wf, WireFormatKeyPackage)
	}
	kp := readKeyPackage(r)
	if r.err == nil && r.off != len(b) {
		r.fail("%d bytes after the KeyPackage", len(b)-r.off)
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKeyPackage, r.err)
	}
	return kp, nil
}

func readKeyPackage(r *reader) *KeyPackage {
	kp := &KeyPackage{}
	kp.Version = r.u16("version")
	kp.CipherSuite = r.u16("cipher_suite")
	kp.InitKey = r.opaque("init_key")
	readLeafNode(r, &kp.Leaf)
	kp.Extensions = readExtensions(r, "extensions")
	kp.Signature = r.opaque("signature")
	return kp
}

func readLeafNode(r *reader, n *LeafNode) {
	n.EncryptionKey = r.opaque("leaf_node.encryption_key")
	n.SignatureKey = r.opaque("leaf_node.signature_key")
	c := &n.Credential
	c.Type = r.u16("credential_type")
	switch c.Type {
	case CredentialBasic:
		c.Identity = r.opaque("credential identity")
	case CredentialX509:
		v := r.vector("certificates")
		for v.more() {
			c.Certificates = append(c.Certificates, v.opaque("certificate"))
		}
		r.done(v, "certificates")
	default:
		r.fail("credential type %d, neither basic nor x509", c.Type)
	}
	caps := &n.Capabilities
	caps.Versions = r.u16s("capabilities.versions")
	caps.CipherSuites = r.u16s("capabilities.cipher_suites")
	caps.Extensions = r.u16s("capabilities.extensions")
	caps.Proposals = r.u16s("capabilities.proposals")
	caps.Credentials = r.u16s("capabilities.credentials")
	n.Source = r.u8("leaf_node_source")
	switch n.Source {
	case SourceKeyPackage:
		n.NotBefore = r.u64("lifetime.not_before")
		n.NotAfter = r.u64("lifetime.not_after")
	case SourceUpdate:
	case SourceCommit:
		n.ParentHash = r.opaque("parent_hash")
	default:
		r.fail("leaf_node_source %d", n.Source)
	}
	n.Extensions = readExtensions(r, "leaf_node.extensions")
	n.Signature = r.opaque("leaf_node.signature")
}

func readExtensions(r *reader, what string) []Extension {
	v := r.vector(what)
	var out []Extension
	for v.more() {
		out = append(out, Extension{Type: v.u16(what), Data: v.opaque(what)})
	}
	r.done(v, what)
	return out
}

// Marshal encodes kp as an MLSMessage: ParseKeyPackage's input, byte for
// byte, as every value has one encoding.
func (kp *KeyPackage) Marshal() []byte {
	w := &writer{}
	w.u16(ProtocolMLS10)
	w.u16(WireFormatKeyPackage)
	kp.writeTBS(w)
	w.opaque(kp.Signature)
	return w.b
}

// writeTBS writes KeyPackageTBS: the KeyPackage but its signature.
func (kp *KeyPackage) writeTBS(w *writer) {
	w.u16(kp.Version)
	w.u16(kp.CipherSuite)
	w.opaque(kp.InitKey)
	kp.Leaf.writeTBS(w)
	w.opaque(kp.Leaf.Signature)
	writeExtensions(w, kp.Extensions)
}

// writeTBS writes LeafNodeTBS for a leaf in a KeyPackage (or an Update, or
// a commit's path without the group's context): the leaf but its
// signature.
func (n *LeafNode) writeTBS(w *writer) {
	w.opaque(n.EncryptionKey)
	w.opaque(n.SignatureKey)
	w.u16(n.Credential.Type)
	switch n.Credential.Type {
	case CredentialBasic:
		w.opaque(n.Credential.Identity)
	case CredentialX509:
		w.vector(func(w *writer) {
			for _, c := range n.Credential.Certificates {
				w.opaque(c)
			}
		})
	}
	c := &n.Capabilities
	w.u16s(c.Versions)
	w.u16s(c.CipherSuites)
	w.u16s(c.Extensions)
	w.u16s(c.Proposals)
	w.u16s(c.Credentials)
	w.u8(n.Source)
	switch n.Source {
	case SourceKeyPackage:
		w.u64(n.NotBefore)
		w.u64(n.NotAfter)
	case SourceCommit:
		w.opaque(n.ParentHash)
	}
	writeExtensions(w, n.Extensions)
}

func writeExtensions(w *writer, exts []Extension) {
	w.vector(func(w *writer) {
		for _, e := range exts {
			w.u16(e.Type)
			w.opaque(e.Data)
		}
	})
}

// signContent is SignWithLabel's input (RFC 9420 §5.1.2): the label
// "MLS 1.0 " + label, then the content, each as opaque<V>.
func signContent(label string, content []byte) []byte {
	w := &writer{}
	w.opaque([]byte("MLS 1.0 " + label))
	w.opaque(content)
	return w.b
}

func (n *LeafNode) tbs() []byte {
	w := &writer{}
	n.writeTBS(w)
	return w.b
}

func (kp *KeyPackage) tbs() []byte {
	w := &writer{}
	kp.writeTBS(w)
	return w.b
}

// Sign signs the leaf and then the KeyPackage with key, whose public half
// must be Leaf.SignatureKey. The server never signs KeyPackages; this is
// for tests and tools that make them.
func (kp *KeyPackage) Sign(key ed25519.PrivateKey) {
	kp.Leaf.Signature = ed25519.Sign(key, signContent("LeafNodeTBS", kp.Leaf.tbs()))
	kp.Signature = ed25519.Sign(key, signContent("KeyPackageTBS", kp.tbs()))
}

// defaultExtension reports whether an extension type is one of RFC 9420's
// defaults, which a leaf may carry without listing it in its capabilities.
func defaultExtension(t uint16) bool { return t >= 1 && t <= 5 }

// CheckKeyPackage checks a KeyPackage as a web client sends it in hello,
// against RFC 9420 §10.1 and §7.3 as far as no group is needed:
//   - at most MaxKeyPackage bytes, an MLSMessage (mls10, mls_key_package)
//     that parses in full with nothing left over (ParseKeyPackage);
//   - KeyPackage version mls10 and cipher suite CipherSuite, with keys and
//     signatures of that suite's sizes, and an init key that is not the
//     leaf's encryption key;
//   - a leaf from a KeyPackage (leaf_node_source key_package) whose
//     lifetime includes now, with a basic credential, whose capabilities
//     list mls10, CipherSuite and its credential type, and every
//     non-default extension it carries;
//   - the leaf's signature (LeafNodeTBS) and the KeyPackage's
//     (KeyPackageTBS), both by the leaf's signature key.
//
// Errors wrap ErrBadKeyPackage and say what is wrong.
func CheckKeyPackage(b []byte, now time.Time) (*KeyPackage, error) {
	kp, err := ParseKeyPackage(b)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) (*KeyPackage, error) {
		return nil, fmt.Errorf("%w: %s", ErrBadKeyPackage, fmt.Sprintf(format, args...))
	}
	n := &kp.Leaf
	switch {
	case kp.Version != ProtocolMLS10:
		return bad("protocol version %d, not mls10", kp.Version)
	case kp.CipherSuite != CipherSuite:
		return bad("cipher suite 0x%04x, not 0x%04x (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519)", kp.CipherSuite, CipherSuite)
	case len(kp.InitKey) != hpkeKeySize || len(n.EncryptionKey) != hpkeKeySize:
		return bad("init key of %d bytes and encryption key of %d, not %d", len(kp.InitKey), len(n.EncryptionKey), hpkeKeySize)
	case bytes.Equal(kp.InitKey, n.EncryptionKey):
		return bad("the init key is the leaf's encryption key")
	case len(n.SignatureKey) != ed25519.PublicKeySize:
		return bad("signature key of %d bytes, not %d", len(n.SignatureKey), ed25519.PublicKeySize)
	case len(n.Signature) != signatureSize || len(kp.Signature) != signatureSize:
		return bad("signatures of %d and %d bytes, not %d", len(n.Signature), len(kp.Signature), signatureSize)
	case n.Source != SourceKeyPackage:
		return bad("leaf_node_source %d, not key_package", n.Source)
	case n.Credential.Type != CredentialBasic:
		return bad("credential type %d, not basic", n.Credential.Type)
	case !slices.Contains(n.Capabilities.Versions, ProtocolMLS10):
		return bad("capabilities do not list mls10")
	case !slices.Contains(n.Capabilities.CipherSuites, CipherSuite):
		return bad("capabilities do not list cipher suite 0x%04x", CipherSuite)
	case !slices.Contains(n.Capabilities.Credentials, n.Credential.Type):
		return bad("capabilities do not list the leaf's own credential type")
	}
	for _, e := range n.Extensions {
		if !defaultExtension(e.Type) && !slices.Contains(n.Capabilities.Extensions, e.Type) {
			return bad("the leaf carries extension %d without listing it in its capabilities", e.Type)
		}
	}
	if t := max(now.Unix(), 0); uint64(t) < n.NotBefore || uint64(t) > n.NotAfter {
		return bad("lifetime %d to %d does not include now (%d)", n.NotBefore, n.NotAfter, t)
	}
	key := ed25519.PublicKey(n.SignatureKey)
	if !ed25519.Verify(key, signContent("LeafNodeTBS", n.tbs()), n.Signature) {
		return bad("the leaf's signature does not verify")
	}
	if !ed25519.Verify(key, signContent("KeyPackageTBS", kp.tbs()), kp.Signature) {
		return bad("the KeyPackage's signature does not verify")
	}
	return kp, nil
}
