package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// selfSigned is a certificate for 127.0.0.1 and its key, as PEM, and its
// SHA-256 fingerprint as the server records it.
type selfSigned struct {
	cert, key   []byte
	fingerprint string
	parsed      *x509.Certificate
}

func newSelfSigned(t *testing.T, cn string) selfSigned {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	sum := sha256.Sum256(der)
	var hexes []string
	for _, b := range sum {
		hexes = append(hexes, fmt.Sprintf("%02X", b))
	}
	return selfSigned{pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), strings.Join(hexes, ":"), parsed}
}

// install replaces the files as a renewal does (written beside, renamed).
func (c selfSigned) install(t *testing.T, certFile, keyFile string) {
	t.Helper()
	for path, body := range map[string][]byte{certFile: c.cert, keyFile: c.key} {
		if err := os.WriteFile(path+".tmp", body, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestSIGHUPReloadsCertificate runs `kaigi serve` with TLS: while it
// runs, rotate-key is refused; after the certificate files are replaced,
// SIGHUP makes new connections see the new certificate without a
// restart; the audit log records the start's and the renewal's
// certificates and verifies.
func TestSIGHUPReloadsCertificate(t *testing.T) {
	bin := servertest.Binary(t)
	dir, data := t.TempDir(), t.TempDir()
	certFile, keyFile := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	first, renewed := newSelfSigned(t, "first"), newSelfSigned(t, "renewed")
	first.install(t, certFile, keyFile)
	pool := x509.NewCertPool()
	pool.AddCert(first.parsed)
	pool.AddCert(renewed.parsed)
	cfg := filepath.Join(dir, "kaigi.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("drain_timeout: 1s\nturn: {enabled: false}\ntls: {cert_file: %s, key_file: %s}\n", certFile, keyFile)), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	output := &lockedBuffer{}
	cmd := exec.Command(bin, "serve", "--config", cfg, "--data", data, "--listen", addr)
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("kaigi output:\n%s", output.String())
		}
	})
	served := func() string {
		d := tls.Dialer{Config: &tls.Config{RootCAs: pool}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return ""
		}
		defer conn.Close()
		sum := sha256.Sum256(conn.(*tls.Conn).ConnectionState().PeerCertificates[0].Raw)
		var hexes []string
		for _, b := range sum {
			hexes = append(hexes, fmt.Sprintf("%02X", b))
		}
		return strings.Join(hexes, ":")
	}
	// await polls until f holds, for at most 30 s (a slow machine).
	await := func(what string, f func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !f() {
			select {
			case err := <-exited:
				t.Fatalf("kaigi exited (%v) while waiting until %s", err, what)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("not within 30 s: %s", what)
			}
		}
	}
	await("it serves the first certificate", func() bool { return served() == first.fingerprint })

	var out, errOut bytes.Buffer
	if err := admin([]string{"rotate-key", "--data", data, "--reason", "while running"}, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "stop the server") {
		t.Fatalf("rotate-key while the server runs: %v", err)
	}

	renewed.install(t, certFile, keyFile)
	if got := served(); got != first.fingerprint {
		t.Fatalf("serving %s before SIGHUP, want the first certificate still", got)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	await("it serves the renewed certificate", func() bool { return served() == renewed.fingerprint })

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err // for the clean-up
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("kaigi did not stop within 30 s of SIGTERM")
	}

	if err := auditCmd([]string{"verify", "--data", data}, &out, &errOut); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	db, err := store.OpenSQLite(context.Background(), data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, _ := db.AuditEntries(context.Background(), 0, 100)
	var changes []map[string]string
	for _, e := range all {
		if e.Action == audit.CertificateChanged {
			changes = append(changes, e.Details)
		}
	}
	if len(changes) != 2 || changes[0]["new"] != first.fingerprint || changes[1]["old"] != first.fingerprint ||
		changes[1]["new"] != renewed.fingerprint || changes[1]["trigger"] != "reload" {
		t.Fatalf("certificate entries: %+v", changes)
	}
	if !strings.Contains(output.String(), "serving a new TLS certificate") {
		t.Error("the renewal is not in the server's log")
	}
}
