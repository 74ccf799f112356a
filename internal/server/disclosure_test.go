package server_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// TestTLSFingerprintLogged: a server serving TLS logs the SHA-256
// fingerprint of the certificate a client actually receives, in the form
// openssl prints for the certificate file.
func TestTLSFingerprintLogged(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	srv := servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.TLS.CertFile, c.TLS.KeyFile = certFile, keyFile
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{RootCAs: pool}}
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(srv.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	served := conn.(*tls.Conn).ConnectionState().PeerCertificates[0].Raw
	conn.Close()
	sum := sha256.Sum256(served)
	var hexes []string
	for _, b := range sum {
		hexes = append(hexes, fmt.Sprintf("%02X", b))
	}
	want := strings.Join(hexes, ":")
	if !strings.Contains(srv.Logs(), "certificate_sha256="+want) {
		t.Fatalf("the log does not name the served certificate's fingerprint %s:\n%s", want, srv.Logs())
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Logf("openssl not installed: the fingerprint is not compared with its output")
		return
	}
	out, err := exec.Command("openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", certFile).Output()
	if err != nil {
		t.Fatal(err)
	}
	if _, fp, _ := strings.Cut(strings.TrimSpace(string(out)), "="); fp != want {
		t.Errorf("openssl says %q, the server logs %s", out, want)
	}
}
