package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClusterConfigDefaultIsEmbedded(t *testing.T) {
	c := Default()
	if !c.Cluster.NATS.IsEmbedded() || c.Cluster.NATS.Listen != "" || c.Cluster.NodeID != "" {
		t.Fatalf("default cluster %+v: want an embedded NATS server on no port, node ID from the host name", c.Cluster)
	}
}

func TestClusterConfigExternal(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem", "node.creds"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Parse(strings.NewReader(`
region: eu-central
cluster:
  node_id: eu1.meet.example.org
  public_url: https://eu1.meet.example.org
  nats:
    urls: [tls://nats1.example.org:4222, tls://nats2.example.org:4222, nats3.example.org]
    tls:
      ca_file: ` + dir + `/ca.pem
      cert_file: ` + dir + `/cert.pem
      key_file: ` + dir + `/key.pem
    creds_file: ` + dir + `/node.creds
    replicas: 3
`))
	if err == nil {
		err = cfg.Validate()
	}
	// nats3.example.org has no scheme: refused, naming the entry.
	if err == nil || !strings.Contains(err.Error(), "cluster.nats.urls[2]") {
		t.Fatalf("a URL without a scheme: %v", err)
	}
	cfg.Cluster.NATS.URLs[2] = "nats://nats3.example.org:4222"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.NATS.IsEmbedded() || cfg.Cluster.NATS.Replicas != 3 || cfg.Cluster.NodeID != "eu1.meet.example.org" {
		t.Fatalf("parsed %+v", cfg.Cluster)
	}
}

func TestClusterConfigErrors(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	ext := func(n *ClusterNATS) { n.URLs = []string{"nats://n1:4222"} }
	for _, tc := range []struct {
		name string
		set  func(c *Cluster)
		want string
	}{
		{"node id with a space", func(c *Cluster) { c.NodeID = "eu 1" }, "cluster.node_id"},
		{"node id with a wildcard", func(c *Cluster) { c.NodeID = "eu.*" }, "cluster.node_id"},
		{"node id too long", func(c *Cluster) { c.NodeID = strings.Repeat("a", 65) }, "cluster.node_id"},
		{"node id with an empty part", func(c *Cluster) { c.NodeID = "eu..1" }, "cluster.node_id"},
		{"public url with a path", func(c *Cluster) { c.PublicURL = "https://eu1.example.org/x" }, "cluster.public_url"},
		{"public url not http", func(c *Cluster) { c.PublicURL = "ftp://eu1.example.org" }, "cluster.public_url"},
		{"public url plain http on a public name", func(c *Cluster) { c.PublicURL = "http://eu1.example.org" }, "cluster.public_url"},
		{"public url plain http on a public address", func(c *Cluster) { c.PublicURL = "http://203.0.113.7:8080" }, "cluster.public_url"},
		{"public url with a user", func(c *Cluster) { c.PublicURL = "https://u@eu1.example.org" }, "cluster.public_url"},
		{"public url with a query", func(c *Cluster) { c.PublicURL = "https://eu1.example.org/?x=1" }, "cluster.public_url"},
		{"public url with a fragment", func(c *Cluster) { c.PublicURL = "https://eu1.example.org#x" }, "cluster.public_url"},
		{"public url without a host", func(c *Cluster) { c.PublicURL = "https://:443" }, "cluster.public_url"},
		{"embedded and urls", func(c *Cluster) { c.NATS.Embedded = &yes; ext(&c.NATS) }, "either embedded"},
		{"not embedded, no urls", func(c *Cluster) { c.NATS.Embedded = &no }, "cluster.nats.urls"},
		{"listen not loopback", func(c *Cluster) { c.NATS.Listen = "0.0.0.0:4222" }, "not a loopback"},
		{"listen without port", func(c *Cluster) { c.NATS.Listen = "127.0.0.1" }, "cluster.nats.listen"},
		{"listen port 0", func(c *Cluster) { c.NATS.Listen = "127.0.0.1:0" }, "cluster.nats.listen"},
		{"listen with external", func(c *Cluster) { ext(&c.NATS); c.NATS.Listen = "127.0.0.1:4222" }, "only for the embedded"},
		{"url scheme", func(c *Cluster) { c.NATS.URLs = []string{"http://n1:4222"} }, "scheme"},
		{"url with password", func(c *Cluster) { c.NATS.URLs = []string{"nats://u:secretpw@n1:4222"} }, "creds_file"},
		{"url port", func(c *Cluster) { c.NATS.URLs = []string{"nats://n1:99999"} }, "no valid port"},
		{"url path", func(c *Cluster) { c.NATS.URLs = []string{"nats://n1:4222/x"} }, "cluster.nats.urls[0]"},
		{"cert without key", func(c *Cluster) { ext(&c.NATS); c.NATS.TLS.CertFile = f }, "both cert_file and key_file"},
		{"missing ca", func(c *Cluster) { ext(&c.NATS); c.NATS.TLS.CAFile = f + ".missing" }, "cluster.nats.tls.ca_file"},
		{"missing creds", func(c *Cluster) { ext(&c.NATS); c.NATS.CredsFile = f + ".missing" }, "cluster.nats.creds_file"},
		{"creds with embedded", func(c *Cluster) { c.NATS.CredsFile = f }, "only for an external"},
		{"replicas 6", func(c *Cluster) { ext(&c.NATS); c.NATS.Replicas = 6 }, "cluster.nats.replicas"},
		{"replicas with embedded", func(c *Cluster) { c.NATS.Replicas = 3 }, "embedded NATS server is one server"},
	} {
		cfg := Default()
		tc.set(&cfg.Cluster)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error with %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%s: the error repeats the password: %v", tc.name, err)
		}
	}
}

// TestValidNodeURL: the URLs a node may announce as where browsers reach
// it (they are sent there when another node may not hold their meeting).
func TestValidNodeURL(t *testing.T) {
	for _, s := range []string{"https://eu1.example.org", "https://eu1.example.org:8443/", "http://127.0.0.1:8080",
		"http://localhost:8080", "http://10.0.0.7", "http://[::1]:8080", "http://[fd00::7]:80", "http://192.168.1.2"} {
		if !ValidNodeURL(s) {
			t.Errorf("%s: refused", s)
		}
	}
	for _, s := range []string{"", "eu1.example.org", "http://eu1.example.org", "http://198.51.100.1", "javascript:alert(1)",
		"https://eu1.example.org/m", "https://a@eu1.example.org", "https://eu1.example.org?", "https://eu1.example.org:0",
		"wss://eu1.example.org", "https:eu1.example.org", "//eu1.example.org"} {
		if ValidNodeURL(s) {
			t.Errorf("%s: accepted", s)
		}
	}
}
