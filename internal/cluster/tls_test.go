package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats-server/v2/server"
)

// An external NATS server that demands TLS with client certificates: a
// node with the CA and its certificate joins; one without its
// certificate, or without the CA, is refused with an error naming the
// configuration.
func TestClusterExternalNATSWithTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "test CA", true)
	srvCert, srvKey := newCert(t, ca, caKey, "127.0.0.1", false)
	cliCert, cliKey := newCert(t, ca, caKey, "node", false)
	caFile := writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	cliCertFile := writePEM(t, dir, "node.pem", "CERTIFICATE", cliCert.Raw)
	cliKeyFile := writeKey(t, dir, "node-key.pem", cliKey)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
		TLS: true, TLSVerify: true,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}},
			ClientCAs:    pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
			MinVersion:   tls.VersionTLS12,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.SetLoggerV2(natsLogger{quiet()}, false, false, false)
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the TLS NATS server is not ready")
	}
	url := "tls://" + ns.Addr().String()

	start := func(n NATS) (*Node, error) {
		return Start(context.Background(), Options{
			NodeID: "tls-node", Region: "eu", NATS: n, Logger: quiet(),
			Heartbeat: testHeartbeat, NodeTTL: testTTL, SweepEvery: time.Hour,
		})
	}
	node, err := start(NATS{URLs: []string{url}, CAFile: caFile, CertFile: cliCertFile, KeyFile: cliKeyFile})
	if err != nil {
		t.Fatalf("with the CA and a client certificate: %v", err)
	}
	defer node.Close()
	nodes, err := node.Nodes(ctxT(t))
	if err != nil || len(nodes) != 1 || nodes[0].ID != "tls-node" {
		t.Fatalf("nodes over TLS: %v, %v", ids(nodes), err)
	}

	for name, n := range map[string]NATS{
		"no client certificate": {URLs: []string{url}, CAFile: caFile},
		"no CA":                 {URLs: []string{url}, CertFile: cliCertFile, KeyFile: cliKeyFile},
	} {
		if bad, err := start(n); err == nil {
			bad.Close()
			t.Errorf("%s: joined", name)
		} else if !strings.Contains(err.Error(), "cluster.nats.urls") {
			t.Errorf("%s: %v; want an error naming cluster.nats.urls", name, err)
		}
	}
}

// With verify_and_map, the NATS user is the node's certificate (its DNS
// name), with the least permissions: the setup docs/operations.md gives.
func TestClusterExternalNATSMapsCertificateToUser(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "test CA", true)
	srvCert, srvKey := newCert(t, ca, caKey, "127.0.0.1", false)
	cliCert, cliKey := newCert(t, ca, caKey, "eu1.kaigi.internal", false)
	otherCert, otherKey := newCert(t, ca, caKey, "stranger.kaigi.internal", false)
	caFile := writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
		TLS: true, TLSVerify: true, TLSMap: true,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}},
			ClientCAs:    pool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
			MinVersion:   tls.VersionTLS12,
		},
		Users: []*server.User{{Username: "eu1.kaigi.internal", Permissions: nodePermissions}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.SetLoggerV2(natsLogger{quiet()}, false, false, false)
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the TLS NATS server is not ready")
	}
	start := func(cert *x509.Certificate, key *ecdsa.PrivateKey, name string) (*Node, error) {
		return Start(context.Background(), Options{
			NodeID: "eu1", Region: "eu", Logger: quiet(),
			NATS: NATS{URLs: []string{"tls://" + ns.Addr().String()}, CAFile: caFile,
				CertFile: writePEM(t, dir, name+".pem", "CERTIFICATE", cert.Raw), KeyFile: writeKey(t, dir, name+"-key.pem", key)},
			Heartbeat: testHeartbeat, NodeTTL: testTTL, SweepEvery: time.Hour,
		})
	}
	node, err := start(cliCert, cliKey, "eu1")
	if err != nil {
		t.Fatalf("the mapped node: %v", err)
	}
	defer node.Close()
	if got, err := node.Place(ctxT(t), meeting.NewID(), meeting.Regions{"eu"}, true); err != nil || got.ID != "eu1" {
		t.Fatalf("place: %s, %v", got.ID, err)
	}
	if bad, err := start(otherCert, otherKey, "stranger"); err == nil {
		bad.Close()
		t.Fatal("a certificate from the same CA but mapped to no user joined")
	}
}

// newCert makes a certificate signed by parent (self-signed if nil).
func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  isCA,
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else if strings.Contains(name, ".") {
		tmpl.DNSNames = []string{name}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t *testing.T, dir, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeKey(t *testing.T, dir, name string, key *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "EC PRIVATE KEY", der)
}
