package server_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/server"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// servedFingerprint connects over TLS, trusting only pool, and returns
// the SHA-256 fingerprint of the certificate the server presented.
func servedFingerprint(t *testing.T, addr string, pool *x509.CertPool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{RootCAs: pool}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.(*tls.Conn).ConnectionState().PeerCertificates[0].Raw)
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hexes, ":")
}

// TestCertificateReload: a server serving TLS on loopback is given a
// renewed certificate; ReloadCertificate (what SIGHUP calls) makes new
// connections see it, and the audit log records the change (the old and
// new fingerprints, the expiry) and verifies; a broken replacement (a
// key that is not the certificate's, then a file that is not PEM) is
// refused and the renewed certificate stays served.
func TestCertificateReload(t *testing.T) {
	ca := server.NewTestCA(t)
	files := t.TempDir()
	certFile, keyFile := filepath.Join(files, "fullchain.pem"), filepath.Join(files, "privkey.pem")
	first := ca.Issue("first", 24)
	first.Install(t, certFile, keyFile)
	data := t.TempDir()
	srv := servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.TLS.CertFile, c.TLS.KeyFile, c.Data = certFile, keyFile, data
	}})
	addr := strings.TrimPrefix(srv.URL, "https://")
	if got := servedFingerprint(t, addr, ca.Pool); got != first.Fingerprint {
		t.Fatalf("serving %s, want %s", got, first.Fingerprint)
	}
	ctx := context.Background()

	renewed := ca.Issue("renewed", 90*24)
	renewed.Install(t, certFile, keyFile)
	if changed, err := srv.ReloadCertificate(ctx); !changed || err != nil {
		t.Fatalf("reload: changed %v, %v", changed, err)
	}
	if got := servedFingerprint(t, addr, ca.Pool); got != renewed.Fingerprint {
		t.Fatalf("after the reload serving %s, want the renewed %s", got, renewed.Fingerprint)
	}
	if changed, err := srv.ReloadCertificate(ctx); changed || err != nil {
		t.Fatalf("reloading the same files: changed %v, %v", changed, err)
	}

	other := ca.Issue("other", 24)
	for name, pair := range map[string][2][]byte{
		"a key of another certificate": {renewed.CertPEM, other.KeyPEM},
		"not PEM":                      {[]byte("not a certificate"), renewed.KeyPEM},
	} {
		server.Issued{CertPEM: pair[0], KeyPEM: pair[1]}.Install(t, certFile, keyFile)
		if changed, err := srv.ReloadCertificate(ctx); changed || err == nil {
			t.Errorf("%s: reload changed %v, err %v; want refused", name, changed, err)
		}
		if got := servedFingerprint(t, addr, ca.Pool); got != renewed.Fingerprint {
			t.Fatalf("%s: serving %s, want the renewed one still", name, got)
		}
	}
	if !strings.Contains(srv.Logs(), "TLS certificate not reloaded; still serving the previous one") {
		t.Error("the refused reloads were not logged")
	}

	db, err := store.OpenSQLite(ctx, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := audit.VerifyAll(ctx, db, nil); err != nil {
		t.Fatalf("the audit log does not verify: %v", err)
	}
	all, _ := db.AuditEntries(ctx, 0, 1000)
	var changes []audit.Entry
	for _, e := range all {
		if e.Action == audit.CertificateChanged {
			changes = append(changes, e)
		}
	}
	if len(changes) != 2 {
		t.Fatalf("%d certificate entries, want 2 (the start, the renewal): %+v", len(changes), changes)
	}
	e := changes[1].Details
	if e["old"] != first.Fingerprint || e["new"] != renewed.Fingerprint || e["trigger"] != "reload" ||
		e["notAfter"] != renewed.NotAfter.UTC().Format(time.RFC3339) || !strings.Contains(e["names"], "renewed.example.org") {
		t.Fatalf("the renewal's entry: %+v", e)
	}
}
