// Package config is Kaigi's server configuration: a struct with defaults,
// loaded from a YAML file (unknown keys are an error) and validated once at
// start with errors that name the offending key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/clientaddr"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"go.yaml.in/yaml/v3"
)

// Config is everything `kaigi serve` can be told.
type Config struct {
	// Listen is the HTTP address, host:port.
	Listen string `yaml:"listen"`
	// Data is the directory for the database and other state.
	Data string `yaml:"data"`
	// Database is the PostgreSQL database to keep Kaigi's data in, a
	// postgres:// URL (postgres://kaigi@db.example.org/kaigi?sslmode=verify-full).
	// Empty: SQLite, kaigi.db in Data. Either way secret.key stays in
	// Data. Never logged, nor repeated in errors: it may hold a password.
	Database string `yaml:"database"`
	// PublicURL is the address users open, when it differs from Listen
	// (behind a proxy or NAT), e.g. https://meet.example.org.
	PublicURL string `yaml:"public_url"`
	// TrustedProxies are the reverse proxies (IP addresses or CIDR
	// prefixes) whose X-Forwarded-For names the client; see
	// internal/clientaddr. Empty: every request's peer is its client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Region labels this node (lower-case letters, digits and hyphens,
	// e.g. eu-central): meetings whose allowed regions do not include it
	// are not held here. Empty: a node with no region, which holds only
	// meetings that name none.
	Region string `yaml:"region"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text or json.
	LogFormat string `yaml:"log_format"`
	// DrainTimeout bounds a graceful stop (SIGTERM, Ctrl-C): nobody new
	// joins, clients are told, and meetings go on until they empty or this
	// passes; then every socket closes (clients resume once the server is
	// back). 0 stops at once. Default 15s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// GOGC is the Go garbage collector's target: the heap may grow by
	// this many percent of what is live before a collection. 50 by
	// default, not Go's 100: a server's garbage comes from joins (SDP,
	// JSON, handshakes; forwarding allocates nothing), and a lower target
	// keeps the memory the joins' garbage takes, and the fragmentation it
	// leaves, smaller, for little CPU (BENCHMARKS.md, "Memory per
	// participant: loopback when needed, cheaper loggers, GOGC 50"). The
	// GOGC environment variable, when set, wins over this key.
	GOGC      int       `yaml:"gogc"`
	TLS       TLS       `yaml:"tls"`
	WebRTC    WebRTC    `yaml:"webrtc"`
	Meetings  Meetings  `yaml:"meetings"`
	Metrics   Metrics   `yaml:"metrics"`
	TURN      TURN      `yaml:"turn"`
	GeoIP     GeoIP     `yaml:"geoip"`
	Retention Retention `yaml:"retention"`
	// Cluster is this node's place among others (cluster.go).
	Cluster Cluster `yaml:"cluster"`
}

// GeoIP is the country database behind country rules (meeting.CountryRule).
// Without it, country rules cannot be set and no address is looked up.
type GeoIP struct {
	// Database is an MMDB country database (`kaigi geoip import` builds
	// one from Debian's tor-geoipdb; GeoLite2-Country or DB-IP's country
	// database work too), read once at start.
	Database string `yaml:"database"`
}

// TLS serves HTTPS from certificate files. Both or neither must be set.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// WebRTC configures media transport.
type WebRTC struct {
	// PublicIPs are advertised instead of the host's addresses (1:1 NAT).
	PublicIPs []string `yaml:"public_ips"`
	// UDPPort carries all media on one UDP port when not zero.
	UDPPort int `yaml:"udp_port"`
	// UDPPortMin and UDPPortMax bound ephemeral media ports when not zero.
	UDPPortMin int `yaml:"udp_port_min"`
	UDPPortMax int `yaml:"udp_port_max"`
	// IncludeLoopback says whether 127.0.0.1 (and ::1) candidates are
	// offered: "auto" (the default) offers them only when the server has
	// no other address to offer (an offline laptop), since a browser on
	// the same machine reaches a server with a network address through
	// that address, and a loopback candidate costs every participant a
	// socket, a read loop and its buffer no remote client can use; true
	// and false offer them always and never.
	IncludeLoopback Switch `yaml:"include_loopback"`
	// ICETCP offers passive ICE-TCP candidates, for browsers whose network
	// blocks UDP (on by default).
	ICETCP *bool `yaml:"ice_tcp"`
	// TCPPort is the ICE-TCP port; 0 (the default) picks a free port at
	// start. Set it to open it in a firewall.
	TCPPort int `yaml:"tcp_port"`
	// Interfaces, if not empty, are the only network interfaces (by name)
	// whose addresses are offered as media candidates (loopback still
	// as include_loopback says, "auto" counting only these interfaces'
	// addresses); empty offers every interface that is up.
	// Each candidate costs every participant a socket, a goroutine and a
	// read buffer on the server, used or not.
	Interfaces []string `yaml:"interfaces"`
	// IPv6 offers IPv6 candidates (on by default).
	IPv6 *bool `yaml:"ipv6"`
	// ICEServers are STUN/TURN servers handed to clients.
	ICEServers []ICEServer `yaml:"ice_servers"`
}

// ICEServer is a STUN or TURN server for clients.
type ICEServer struct {
	URLs       []string `yaml:"urls"`
	Username   string   `yaml:"username"`
	Credential string   `yaml:"credential"`
}

// TURN is the embedded TURN server (RFC 8656), which relays media between
// browsers that cannot reach the SFU directly (UDP blocked) and the SFU's
// own media addresses, and nowhere else.
type TURN struct {
	// Enabled runs it (on by default).
	Enabled *bool `yaml:"enabled"`
	// Port is the TURN port, the same for UDP and TCP; 0 (the default)
	// picks a free one at start. 3478 is TURN's standard port.
	Port int `yaml:"port"`
	// Realm is the TURN realm; "kaigi" by default.
	Realm string `yaml:"realm"`
	// RelayPortMin and RelayPortMax bound the relay ports when not zero.
	RelayPortMin int `yaml:"relay_port_min"`
	RelayPortMax int `yaml:"relay_port_max"`
	// MaxAllocations is the most relays open at once (default 1000).
	MaxAllocations int `yaml:"max_allocations"`
}

// On reports whether the TURN server runs.
func (t TURN) On() bool { return t.Enabled == nil || *t.Enabled }

// Meetings are limits and defaults for meetings.
type Meetings struct {
	// MaxParticipants is the most people in one meeting.
	MaxParticipants int `yaml:"max_participants"`
}

// Metrics serves GET /metrics to Prometheus. It is off unless Token is set.
type Metrics struct {
	// Token is the secret a scraper sends as "Authorization: Bearer
	// <token>"; at least 16 printable ASCII characters, no spaces.
	Token string `yaml:"token"`
}

// DefaultGOGC is the default of the gogc key.
const DefaultGOGC = 50

// MinMetricsToken is the shortest metrics token accepted.
const MinMetricsToken = 16

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		Data:         "./kaigi-data",
		LogLevel:     "info",
		LogFormat:    "text",
		DrainTimeout: 15 * time.Second,
		GOGC:         DefaultGOGC,
		WebRTC:       WebRTC{IncludeLoopback: SwitchAuto},
		Meetings:     Meetings{MaxParticipants: 100},
		TURN:         TURN{Realm: "kaigi", MaxAllocations: 1000},
		Retention:    Retention{AuditMinimumDays: 365},
	}
}

// Load reads a YAML file over the defaults.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	cfg, err := Parse(f)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse reads YAML over the defaults. Unknown keys are an error.
func Parse(r io.Reader) (Config, error) {
	cfg := Default()
	body, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return Config{}, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(body))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks every key and returns the first problem, naming the key.
func (c Config) Validate() error {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		return fmt.Errorf("listen: %q is not host:port", c.Listen)
	}
	if c.Data == "" {
		return errors.New("data: must name a directory")
	}
	if err := validDatabase(c.Database); err != nil {
		return fmt.Errorf("database: %w (the value is not repeated: it may hold a password)", err)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("public_url: %q must be an http(s) URL with a host and no path", c.PublicURL)
		}
	}
	if c.Region != "" && !meeting.ValidRegion(c.Region) {
		return fmt.Errorf("region: %q is not a region label (lower-case letters, digits and hyphens, like eu-central)", c.Region)
	}
	if _, err := clientaddr.Parse(c.TrustedProxies); err != nil {
		return fmt.Errorf("trusted_proxies: %w", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log_format: %q is not text or json", c.LogFormat)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("tls: set both cert_file and key_file, or neither")
	}
	for _, ip := range c.WebRTC.PublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("webrtc.public_ips: %q is not an IP address", ip)
		}
	}
	w := c.WebRTC
	if w.UDPPort < 0 || w.UDPPort > 65535 {
		return fmt.Errorf("webrtc.udp_port: %d is not a port", w.UDPPort)
	}
	if w.UDPPortMin < 0 || w.UDPPortMin > 65535 || w.UDPPortMax < 0 || w.UDPPortMax > 65535 {
		return errors.New("webrtc.udp_port_min/udp_port_max: not ports")
	}
	if (w.UDPPortMin == 0) != (w.UDPPortMax == 0) || w.UDPPortMin > w.UDPPortMax {
		return fmt.Errorf("webrtc.udp_port_min/udp_port_max: %d-%d is not a range", w.UDPPortMin, w.UDPPortMax)
	}
	if w.UDPPort != 0 && w.UDPPortMin != 0 {
		return errors.New("webrtc.udp_port: set either udp_port or udp_port_min/udp_port_max, not both")
	}
	for i, s := range w.ICEServers {
		if len(s.URLs) == 0 {
			return fmt.Errorf("webrtc.ice_servers[%d].urls: must list at least one URL", i)
		}
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return fmt.Errorf("webrtc.ice_servers[%d].urls: %q is not a stun:, turn: or turns: URL", i, u)
			}
		}
	}
	if !w.IncludeLoopback.valid() {
		return fmt.Errorf("webrtc.include_loopback: %q is not true, false or auto", truncated(string(w.IncludeLoopback)))
	}
	if w.TCPPort < 0 || w.TCPPort > 65535 {
		return fmt.Errorf("webrtc.tcp_port: %d is not a port", w.TCPPort)
	}
	for _, name := range w.Interfaces {
		if name == "" || strings.ContainsAny(name, " \t/") || len(name) > 15 {
			return fmt.Errorf("webrtc.interfaces: %q is not an interface name", name)
		}
	}
	if err := c.TURN.validate(); err != nil {
		return err
	}
	if c.GOGC < 10 || c.GOGC > 1000 {
		return fmt.Errorf("gogc: %d is not between 10 and 1000", c.GOGC)
	}
	if c.DrainTimeout < 0 || c.DrainTimeout > 10*time.Minute {
		return fmt.Errorf("drain_timeout: %v is not between 0 and 10m", c.DrainTimeout)
	}
	if c.Meetings.MaxParticipants < 1 || c.Meetings.MaxParticipants > 1000 {
		return fmt.Errorf("meetings.max_participants: %d is not between 1 and 1000", c.Meetings.MaxParticipants)
	}
	if p := c.GeoIP.Database; p != "" {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("geoip.database: %q is not a readable file (build one with kaigi geoip import)", p)
		}
	}
	if d := c.Retention.AuditMinimumDays; d < MinAuditMinimumDays || d > 36500 {
		return fmt.Errorf("retention.audit_minimum_days: %d is not between %d and 36500", d, MinAuditMinimumDays)
	}
	if err := c.Cluster.validate(); err != nil {
		return err
	}
	if t := c.Metrics.Token; t != "" {
		if len(t) < MinMetricsToken || strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return fmt.Errorf("metrics.token: must be at least %d printable ASCII characters without spaces", MinMetricsToken)
		}
	}
	return nil
}

func (t TURN) validate() error {
	if t.Port < 0 || t.Port > 65535 {
		return fmt.Errorf("turn.port: %d is not a port", t.Port)
	}
	if t.RelayPortMin < 0 || t.RelayPortMin > 65535 || t.RelayPortMax < 0 || t.RelayPortMax > 65535 ||
		(t.RelayPortMin == 0) != (t.RelayPortMax == 0) || t.RelayPortMin > t.RelayPortMax {
		return fmt.Errorf("turn.relay_port_min/relay_port_max: %d-%d is not a range", t.RelayPortMin, t.RelayPortMax)
	}
	if t.Realm == "" || strings.ContainsFunc(t.Realm, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' }) {
		return fmt.Errorf("turn.realm: %q must be printable ASCII without spaces or quotes", t.Realm)
	}
	if t.MaxAllocations < 1 || t.MaxAllocations > 100000 {
		return fmt.Errorf("turn.max_allocations: %d is not between 1 and 100000", t.MaxAllocations)
	}
	return nil
}

// LoopbackAuto reports whether loopback candidates are offered is
// left to the server (include_loopback unset or "auto"): see
// IncludeLoopback.
func (w WebRTC) LoopbackAuto() bool {
	return w.IncludeLoopback == "" || w.IncludeLoopback == SwitchAuto
}

// Loopback reports whether loopback candidates are offered when
// LoopbackAuto is false (include_loopback: true).
func (w WebRTC) Loopback() bool { return w.IncludeLoopback == SwitchOn }

// Switch is a setting that is on ("true"), off ("false"), or left to
// the server ("auto"); YAML true, false or auto. Validate refuses
// anything else, naming the key.
type Switch string

// The values of a Switch.
const (
	SwitchAuto Switch = "auto"
	SwitchOn   Switch = "true"
	SwitchOff  Switch = "false"
)

// SwitchOf is SwitchOn or SwitchOff.
func SwitchOf(on bool) Switch {
	if on {
		return SwitchOn
	}
	return SwitchOff
}

// UnmarshalYAML takes any scalar (YAML's true, True and TRUE are one
// value, so the case of a boolean is folded); Validate checks it. The
// words the YAML library takes for a boolean key (YAML 1.1's yes, no,
// on, off, y, n) are taken as true and false too: include_loopback was
// a boolean key, and a configuration that said yes must still start.
func (s *Switch) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: true, false or auto expected", n.Line)
	}
	v := n.Value
	switch {
	case n.ShortTag() == "!!bool":
		v = strings.ToLower(v)
	case yaml11True[v]:
		v = string(SwitchOn)
	case yaml11False[v]:
		v = string(SwitchOff)
	}
	*s = Switch(v)
	return nil
}

// yaml11True and yaml11False are the words the YAML library decodes into
// a bool besides true and false (go.yaml.in/yaml/v3, for YAML 1.1).
var (
	yaml11True  = map[string]bool{"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true}
	yaml11False = map[string]bool{"n": true, "N": true, "no": true, "No": true, "NO": true, "off": true, "Off": true, "OFF": true}
)

func (s Switch) valid() bool {
	return s == "" || s == SwitchAuto || s == SwitchOn || s == SwitchOff
}

// TCP reports whether ICE-TCP candidates are offered.
func (w WebRTC) TCP() bool { return w.ICETCP == nil || *w.ICETCP }

// V6 reports whether IPv6 candidates are offered.
func (w WebRTC) V6() bool { return w.IPv6 == nil || *w.IPv6 }

// Retention is the server's side of deleting old records (each
// organisation sets its own limits in its policy).
type Retention struct {
	// AuditMinimumDays is the legal minimum for audit entries: none
	// younger is ever deleted, whatever the organisation sets. Default
	// 365; at least MinAuditMinimumDays.
	AuditMinimumDays int `yaml:"audit_minimum_days"`
}

// MinAuditMinimumDays is the lowest legal minimum the configuration
// accepts, so that a head of the audit log published each month can
// always be checked.
const MinAuditMinimumDays = 30

// validDatabase checks the database key: empty, or a postgres:// URL
// naming a database and a host (or a socket directory, ?host=/path),
// with a known sslmode. Its errors never quote the value.
func validDatabase(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("must be empty (SQLite in the data directory) or a postgres:// URL")
	}
	q := u.Query()
	if u.Host == "" && q.Get("host") == "" {
		return errors.New("the URL names no host")
	}
	if strings.Trim(u.Path, "/") == "" && q.Get("dbname") == "" {
		return errors.New("the URL names no database (postgres://user@host/DATABASE)")
	}
	switch q.Get("sslmode") {
	case "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
	default:
		return errors.New("sslmode must be disable, allow, prefer, require, verify-ca or verify-full")
	}
	return nil
}
