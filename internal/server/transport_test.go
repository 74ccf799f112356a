package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/pion/webrtc/v4"
)

// freeUDPPort returns a UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestSingleUDPPort: with webrtc.udp_port set, all media of all
// participants goes through that one port, and still flows.
func TestSingleUDPPort(t *testing.T) {
	port := freeUDPPort(t)
	srv := &testServer{servertest.Start(t, servertest.Options{Config: func(c *config.Config) { c.WebRTC.UDPPort = port }})}
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "camera")
	bob := srv.join(t, id, "Bob", "camera")
	receiving(t, ada, bob, "camera", 20)
	receiving(t, bob, ada, "camera", 20)

	// Nothing else may be listening on the port now: binding it must fail.
	if c, err := net.ListenUDP("udp", &net.UDPAddr{Port: port}); err == nil {
		c.Close()
		t.Fatalf("UDP port %d is free while media should be using it", port)
	}
}

// TestUDPPortRange: with a port range, media flows on ports from it.
func TestUDPPortRange(t *testing.T) {
	base := freeUDPPort(t)
	srv := &testServer{servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.WebRTC.UDPPortMin, c.WebRTC.UDPPortMax = base, base+20
	}})}
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "camera")
	bob := srv.join(t, id, "Bob")
	receiving(t, bob, ada, "camera", 20)
	for _, port := range candidatePorts(t, srv, id) {
		if port < base || port > base+20 {
			t.Errorf("candidate on port %d, outside %d-%d", port, base, base+20)
		}
	}
}

// TestPublicIPsAreAdvertised: behind a 1:1 NAT the server offers its public
// address, not its own.
func TestPublicIPsAreAdvertised(t *testing.T) {
	srv := &testServer{servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.WebRTC.PublicIPs = []string{"203.0.113.7"}
	}})}
	id := srv.newMeeting(t)
	cands := candidates(t, srv, id)
	for _, c := range cands {
		if !strings.Contains(c, " 203.0.113.7 ") {
			t.Errorf("candidate %q does not carry the public IP", c)
		}
	}
}

// candidates joins with a raw socket, offers one audio track and returns
// the server's candidates.
func candidates(t *testing.T, srv *testServer, id string) []string {
	t.Helper()
	r := srv.dialRaw(t)
	r.send(hello(id, "Probe"))
	if m := r.next(); m.Type != "welcome" {
		t.Fatalf("hello: %+v", m)
	}
	r.send(map[string]any{"type": "offer", "sdp": pionOffer(t, webrtc.RTPCodecTypeAudio),
		"tracks": []any{map[string]any{"mid": "0", "source": "microphone"}}})
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := r.conn.Read(ctx)
		if err != nil {
			t.Fatalf("reading candidates: %v", err)
		}
		var m struct {
			Type      string
			Candidate struct{ Candidate string }
		}
		json.Unmarshal(b, &m)
		if m.Type != "candidate" {
			continue
		}
		if m.Candidate.Candidate == "" {
			break // end of candidates
		}
		out = append(out, m.Candidate.Candidate)
	}
	if len(out) == 0 {
		t.Fatal("the server sent no candidates")
	}
	return out
}

func candidatePorts(t *testing.T, srv *testServer, id string) []int {
	var ports []int
	for _, c := range candidates(t, srv, id) {
		f := strings.Fields(c)
		if len(f) < 6 {
			t.Fatalf("odd candidate %q", c)
		}
		if !strings.EqualFold(f[2], "udp") {
			continue // ICE-TCP has its own port
		}
		var p int
		for _, ch := range f[5] {
			p = p*10 + int(ch-'0')
		}
		ports = append(ports, p)
	}
	return ports
}

// TestTLS: with tls.cert_file and key_file the server speaks HTTPS and
// sends HSTS.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	srv := servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.TLS.CertFile, c.TLS.KeyFile = certFile, keyFile
	}})
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("URL = %s, want https", srv.URL)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("GET /healthz over TLS: %s, HSTS %q", resp.Status, resp.Header.Get("Strict-Transport-Security"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(srv.URL, "https")+"/ws",
		&websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": []string{srv.URL}}})
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	conn.CloseNow()
}

func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile, pool
}
