package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
)

// Cluster is this node's place in a cluster of Kaigi nodes coordinated
// over NATS (internal/cluster). With nothing set, the node runs an
// embedded NATS server in-process, listening on no port, and is a
// cluster of one.
type Cluster struct {
	// NodeID names this node among the others (letters, digits, dots,
	// hyphens and underscores, at most 64). Empty: the host name.
	NodeID string `yaml:"node_id"`
	// PublicURL is where browsers reach this node in particular
	// (https://eu1.meet.example.org), announced to the other nodes: a
	// node outside a meeting's regions sends its participants to an
	// allowed node's public URL. https, or http only for a loopback or
	// private address (tests, a lab). Empty: this node is never such a
	// target.
	PublicURL string `yaml:"public_url"`
	// NATS is the NATS server the node uses.
	NATS ClusterNATS `yaml:"nats"`
}

// ClusterNATS is either the embedded NATS server (the default) or an
// external NATS cluster (URLs).
type ClusterNATS struct {
	// Embedded runs a NATS server with JetStream inside the process, its
	// store in the data directory (nats/). True by default; false needs
	// URLs, and URLs need it false (or unset).
	Embedded *bool `yaml:"embedded"`
	// Listen, embedded only: a loopback host:port on which the embedded
	// server also accepts connections (for the nats command-line tool),
	// with a token kept in the data directory (nats/token). Empty: no
	// port at all; the node connects in-process.
	Listen string `yaml:"listen"`
	// URLs of the external NATS cluster's servers (nats://, tls://,
	// ws://, wss://), without credentials in them.
	URLs []string `yaml:"urls"`
	// TLS to the external cluster: the CA that signed its certificates,
	// and this node's client certificate and key if the cluster asks for
	// one.
	TLS ClusterTLS `yaml:"tls"`
	// CredsFile is a NATS credentials file (a user JWT and its NKey seed,
	// as `nsc generate creds` writes) for the external cluster.
	CredsFile string `yaml:"creds_file"`
	// Replicas of the cluster's JetStream key-value buckets, 1 to 5
	// (external cluster only; 3 for a three-server NATS cluster). 0 is 1.
	Replicas int `yaml:"replicas"`
}

// ClusterTLS are PEM files for TLS to an external NATS cluster.
type ClusterTLS struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// IsEmbedded reports whether the node runs its own NATS server.
func (n ClusterNATS) IsEmbedded() bool {
	if n.Embedded != nil {
		return *n.Embedded
	}
	return len(n.URLs) == 0
}

// MaxNodeID is the longest node ID.
const MaxNodeID = 64

var nodeID = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// ValidNodeID reports whether s can name a node: letters, digits,
// hyphens and underscores in dot-separated parts (a host name fits), at
// most MaxNodeID characters. Such a name is also a valid NATS key.
func ValidNodeID(s string) bool { return len(s) <= MaxNodeID && nodeID.MatchString(s) }

func (c Cluster) validate() error {
	if c.NodeID != "" && !ValidNodeID(c.NodeID) {
		return fmt.Errorf("cluster.node_id: %q is not a node ID (letters, digits, hyphens, underscores and dots, at most %d)", truncated(c.NodeID), MaxNodeID)
	}
	if c.PublicURL != "" && !ValidNodeURL(c.PublicURL) {
		return fmt.Errorf("cluster.public_url: %q must be an https URL with a host and no path (http only for a loopback or private address)", truncated(c.PublicURL))
	}
	return c.NATS.validate()
}

func (n ClusterNATS) validate() error {
	embedded := n.IsEmbedded()
	if embedded && len(n.URLs) > 0 {
		return errors.New("cluster.nats: set either embedded: true or urls, not both")
	}
	if !embedded && len(n.URLs) == 0 {
		return errors.New("cluster.nats.urls: must list the external NATS servers when embedded is false")
	}
	if n.Listen != "" {
		if !embedded {
			return errors.New("cluster.nats.listen: only for the embedded NATS server (an external cluster listens on its own)")
		}
		host, port, err := net.SplitHostPort(n.Listen)
		if err != nil || !validPort(port) {
			return fmt.Errorf("cluster.nats.listen: %q is not host:port with a port from 1 to 65535", truncated(n.Listen))
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("cluster.nats.listen: %q is not a loopback address (the embedded server is for this host only; run an external NATS cluster to join nodes)", host)
		}
	}
	if len(n.URLs) > 32 {
		return errors.New("cluster.nats.urls: at most 32")
	}
	for i, s := range n.URLs {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("cluster.nats.urls[%d]: %q is not a URL like nats://nats1.example.org:4222", i, truncated(s))
		}
		if u.User != nil {
			return fmt.Errorf("cluster.nats.urls[%d]: must not hold a user or password (the value is not repeated); use cluster.nats.creds_file", i)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("cluster.nats.urls[%d]: scheme %q is not nats, tls, ws or wss", i, u.Scheme)
		}
		if p := u.Port(); p != "" && !validPort(p) {
			return fmt.Errorf("cluster.nats.urls[%d]: %q has no valid port", i, truncated(s))
		}
	}
	t := n.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("cluster.nats.tls: set both cert_file and key_file, or neither")
	}
	for _, f := range []struct{ key, path string }{
		{"cluster.nats.tls.ca_file", t.CAFile},
		{"cluster.nats.tls.cert_file", t.CertFile},
		{"cluster.nats.tls.key_file", t.KeyFile},
		{"cluster.nats.creds_file", n.CredsFile},
	} {
		if f.path == "" {
			continue
		}
		if embedded {
			return fmt.Errorf("%s: only for an external NATS cluster (cluster.nats.urls)", f.key)
		}
		if st, err := os.Stat(f.path); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("%s: %q is not a readable file", f.key, truncated(f.path))
		}
	}
	if n.Replicas < 0 || n.Replicas > 5 {
		return fmt.Errorf("cluster.nats.replicas: %d is not between 1 and 5", n.Replicas)
	}
	if n.Replicas > 1 && embedded {
		return errors.New("cluster.nats.replicas: the embedded NATS server is one server; replicas above 1 need an external cluster")
	}
	return nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// ValidNodeURL reports whether s can be a node's public URL, the address
// browsers are sent to: an origin (no user, path, query or fragment)
// over https, or over http only when the host is localhost or a
// loopback or private IP address.
func ValidNodeURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return false
	}
	if p := u.Port(); p != "" && !validPort(p) {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return true
		}
		ip, err := netip.ParseAddr(host)
		return err == nil && (ip.IsLoopback() || ip.Unmap().IsPrivate())
	}
	return false
}

// truncated shortens a value quoted in an error.
func truncated(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
