package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestCA issues certificates for 127.0.0.1 in tests of the TLS reload
// (here and in package server_test).
type TestCA struct {
	t      testing.TB
	key    *ecdsa.PrivateKey
	cert   *x509.Certificate
	Pool   *x509.CertPool
	serial int64
}

// NewTestCA makes a certificate authority that Pool trusts.
func NewTestCA(t testing.TB) *TestCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Kaigi test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &TestCA{t: t, key: key, cert: cert, Pool: pool, serial: 1}
}

// Issued is a certificate and key as PEM, and the certificate's SHA-256
// fingerprint in the form the server logs and records.
type Issued struct {
	CertPEM, KeyPEM []byte
	Fingerprint     string
	NotAfter        time.Time
}

// Issue makes a certificate for 127.0.0.1 named cn, valid for the hours
// given.
func (ca *TestCA) Issue(cn string, hours int) Issued {
	ca.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	ca.serial++
	notAfter := time.Now().Add(time.Duration(hours) * time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(ca.serial), Subject: pkix.Name{CommonName: cn},
		DNSNames: []string{cn + ".example.org"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	sum := sha256.Sum256(der)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	return Issued{
		CertPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:      pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		Fingerprint: strings.Join(hexes, ":"),
		NotAfter:    notAfter,
	}
}

// Install writes the pair to the files (as a renewal replaces them:
// written beside, then renamed over).
func (i Issued) Install(t testing.TB, certFile, keyFile string) {
	t.Helper()
	for path, body := range map[string][]byte{certFile: i.CertPEM, keyFile: i.KeyPEM} {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, body, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
}

// writeInPlace overwrites a file as an editor would (same file), and
// dates it a minute after it was, so that a change within the file
// system's clock tick still shows, as a renewal hours later does.
func writeInPlace(t testing.TB, path string, body []byte) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	later := fi.ModTime().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

// syncLog is a log the test reads while the code writes it.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func certEntries(t *testing.T, db *store.SQLite) []audit.Entry {
	t.Helper()
	all, err := db.AuditEntries(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyAll(context.Background(), db, nil); err != nil {
		t.Fatalf("the audit log does not verify: %v", err)
	}
	var out []audit.Entry
	for _, e := range all {
		if e.Action == audit.CertificateChanged {
			out = append(out, e)
		}
	}
	return out
}

// TestCertificateFileCheck: the hourly check reloads only files that
// changed; a renewal is served and recorded (old and new fingerprints,
// expiry, names, what noticed it); a broken renewal (a key of another
// certificate) keeps the old one, is retried at each check, and is
// served once mended; at start, a certificate is recorded only when it
// is not the last one recorded.
func TestCertificateFileCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.OpenSQLite(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ca := NewTestCA(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	a := ca.Issue("alpha", 24)
	a.Install(t, certFile, keyFile)
	logs := &syncLog{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	tlsCfg := config.TLS{CertFile: certFile, KeyFile: keyFile}
	load := func() *certificates {
		t.Helper()
		c, err := loadCertificates(ctx, tlsCfg, db, log)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := load()
	served := func() string { return c.current.Load().fingerprint }
	got := certEntries(t, db)
	if len(got) != 1 || got[0].Details["new"] != a.Fingerprint || got[0].Details["old"] != "" || got[0].Details["trigger"] != "start" ||
		got[0].ActorKind != audit.ActorSystem || got[0].Details["notAfter"] != a.NotAfter.UTC().Format(time.RFC3339) ||
		got[0].Details["names"] != "alpha.example.org, 127.0.0.1" || got[0].Details["subject"] != "CN=alpha" {
		t.Fatalf("first start recorded %+v", got)
	}

	// Unchanged files are not even read.
	c.check(ctx)
	if strings.Contains(logs.String(), "unchanged") || len(certEntries(t, db)) != 1 {
		t.Fatal("the check reloaded files that had not changed")
	}

	b := ca.Issue("bravo", 48)
	b.Install(t, certFile, keyFile)
	c.check(ctx)
	if served() != b.Fingerprint {
		t.Fatal("a renewal was not served after the file check")
	}
	got = certEntries(t, db)
	if len(got) != 2 || got[1].Details["old"] != a.Fingerprint || got[1].Details["new"] != b.Fingerprint || got[1].Details["trigger"] != "file change" {
		t.Fatalf("renewal recorded %+v", got[1:])
	}

	// A certificate with another one's key: refused, retried, kept out.
	broken := ca.Issue("charlie", 24)
	writeInPlace(t, certFile, broken.CertPEM)
	for range 2 {
		c.check(ctx)
	}
	if served() != b.Fingerprint || len(certEntries(t, db)) != 2 {
		t.Fatal("a certificate that does not match its key replaced the served one")
	}
	if n := strings.Count(logs.String(), "TLS certificate not reloaded"); n != 2 {
		t.Fatalf("the broken renewal was logged %d times over 2 checks, want 2:\n%s", n, logs.String())
	}
	writeInPlace(t, keyFile, broken.KeyPEM)
	c.check(ctx)
	if served() != broken.Fingerprint || len(certEntries(t, db)) != 3 {
		t.Fatal("the mended renewal was not served")
	}

	// Starting again with the same certificate records nothing; with
	// another one (replaced while stopped), the change from the last
	// recorded.
	c = load()
	if n := len(certEntries(t, db)); n != 3 {
		t.Fatalf("a start with the recorded certificate added an entry (%d)", n)
	}
	d := ca.Issue("delta", 24)
	d.Install(t, certFile, keyFile)
	c = load()
	got = certEntries(t, db)
	if len(got) != 4 || got[3].Details["old"] != broken.Fingerprint || got[3].Details["new"] != d.Fingerprint || got[3].Details["trigger"] != "start" {
		t.Fatalf("a start with a new certificate recorded %+v", got[3:])
	}
	if served() != d.Fingerprint {
		t.Fatal("not serving the certificate it started with")
	}
}

// TestClipKeepsDetailsWithinLimits: long subjects and name lists are
// cut on a character boundary within the audit log's limit.
func TestClipKeepsDetailsWithinLimits(t *testing.T) {
	long := strings.Repeat("é", 150)
	got := clip(long)
	if len(got) > audit.MaxDetailText || !strings.HasSuffix(got, " …") || !strings.HasPrefix(long, strings.TrimSuffix(got, " …")) {
		t.Fatalf("clip: %d bytes %q", len(got), got)
	}
	if clip("short") != "short" {
		t.Fatal("a short text was changed")
	}
}
