package config

import (
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	if w := Default().WebRTC; !w.LoopbackAuto() || w.Loopback() {
		t.Errorf("loopback candidates are not left to the server by default: %q", w.IncludeLoopback)
	}
	if d := Default(); !d.WebRTC.TCP() || d.WebRTC.TCPPort != 0 || !d.TURN.On() || d.TURN.Port != 0 {
		t.Errorf("ICE-TCP and TURN are not on, on ports picked at start, by default: %+v %+v", d.WebRTC, d.TURN)
	}
}

func TestParse(t *testing.T) {
	cfg, err := Parse(strings.NewReader(`
listen: 0.0.0.0:443
public_url: https://meet.example.org
trusted_proxies: [127.0.0.1, 10.0.0.0/8]
tls:
  cert_file: /etc/kaigi/cert.pem
  key_file: /etc/kaigi/key.pem
webrtc:
  public_ips: [203.0.113.7]
  udp_port: 3478
  include_loopback: false
  ice_tcp: false
  tcp_port: 7881
  ice_servers:
    - urls: ["stun:stun.example.org:3478"]
meetings:
  max_participants: 50
metrics:
  token: 0123456789abcdef0123
turn:
  enabled: false
  port: 3479
  relay_port_min: 50000
  relay_port_max: 50099
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:443" || cfg.Data != "./kaigi-data" || cfg.WebRTC.UDPPort != 3478 ||
		cfg.WebRTC.Loopback() || cfg.WebRTC.LoopbackAuto() || cfg.Meetings.MaxParticipants != 50 || !cfg.TLS.Enabled() ||
		cfg.WebRTC.PublicIPs[0] != "203.0.113.7" || cfg.LogLevel != "info" || cfg.Metrics.Token != "0123456789abcdef0123" ||
		cfg.WebRTC.TCP() || cfg.WebRTC.TCPPort != 7881 || cfg.TURN.On() || cfg.TURN.Port != 3479 ||
		cfg.TURN.RelayPortMin != 50000 || cfg.TURN.RelayPortMax != 50099 || cfg.TURN.Realm != "kaigi" ||
		len(cfg.TrustedProxies) != 2 || cfg.TrustedProxies[1] != "10.0.0.0/8" {
		t.Errorf("parsed %+v", cfg)
	}
}

func TestParseEmptyGivesDefaults(t *testing.T) {
	cfg, err := Parse(strings.NewReader(""))
	if err != nil || cfg.Listen != Default().Listen {
		t.Fatalf("Parse(\"\") = %+v, %v", cfg, err)
	}
}

func TestParseRejectsUnknownKeys(t *testing.T) {
	for _, doc := range []string{
		"listne: 127.0.0.1:1\n",
		"webrtc:\n  udp_prot: 1\n",
		"tls:\n  cert: x\n",
	} {
		if _, err := Parse(strings.NewReader(doc)); err == nil {
			t.Errorf("Parse(%q) accepted an unknown key", doc)
		}
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		yaml string
		key  string
	}{
		{"listen: nope", "listen"},
		{"data: ''", "data"},
		{"public_url: ftp://x", "public_url"},
		{"public_url: https://x/path", "public_url"},
		{"trusted_proxies: [proxy.example.org]", "trusted_proxies"},
		{"region: EU Central", "region"},
		{"trusted_proxies: [10.0.0.0/40]", "trusted_proxies"},
		{"log_level: loud", "log_level"},
		{"log_format: xml", "log_format"},
		{"tls: {cert_file: a}", "tls"},
		{"webrtc: {public_ips: [not-an-ip]}", "webrtc.public_ips"},
		{"webrtc: {udp_port: 70000}", "webrtc.udp_port"},
		{"webrtc: {udp_port_min: 10}", "webrtc.udp_port_min"},
		{"webrtc: {udp_port_min: 20, udp_port_max: 10}", "webrtc.udp_port_min"},
		{"webrtc: {udp_port: 5000, udp_port_min: 10, udp_port_max: 20}", "webrtc.udp_port"},
		{"webrtc: {ice_servers: [{urls: []}]}", "webrtc.ice_servers[0].urls"},
		{"webrtc: {ice_servers: [{urls: [http://x]}]}", "webrtc.ice_servers[0].urls"},
		{"meetings: {max_participants: 0}", "meetings.max_participants"},
		{"metrics: {token: short}", "metrics.token"},
		{"webrtc: {tcp_port: -1}", "webrtc.tcp_port"},
		{"turn: {port: 65536}", "turn.port"},
		{"turn: {relay_port_min: 50000}", "turn.relay_port_min"},
		{"turn: {relay_port_min: 50010, relay_port_max: 50000}", "turn.relay_port_min"},
		{"turn: {realm: 'two words'}", "turn.realm"},
		{"turn: {max_allocations: 0}", "turn.max_allocations"},
		{"metrics: {token: 'sixteen chars but spaces'}", "metrics.token"},
		{"retention: {audit_minimum_days: 29}", "retention.audit_minimum_days"},
		{"retention: {audit_minimum_days: 0}", "retention.audit_minimum_days"},
		{"retention: {audit_minimum_days: 36501}", "retention.audit_minimum_days"},
	}
	for _, tt := range tests {
		cfg, err := Parse(strings.NewReader(tt.yaml))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.yaml, err)
			continue
		}
		err = cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.key) {
			t.Errorf("Validate(%q) = %v, want an error naming %s", tt.yaml, err, tt.key)
		}
	}
}

// TestIncludeLoopback: include_loopback is true, false or auto (the
// default, also when unset), a boolean in any case YAML allows, and
// anything else is refused naming the key.
func TestIncludeLoopback(t *testing.T) {
	for _, c := range []struct {
		doc      string
		auto, on bool
	}{
		{"", true, false},
		{"webrtc: {include_loopback: auto}", true, false},
		{"webrtc: {include_loopback: true}", false, true},
		{"webrtc: {include_loopback: TRUE}", false, true},
		{"webrtc: {include_loopback: false}", false, false},
		{"webrtc: {include_loopback: False}", false, false},
	} {
		cfg, err := Parse(strings.NewReader(c.doc))
		if err != nil {
			t.Fatalf("%q: %v", c.doc, err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%q: %v", c.doc, err)
		}
		if w := cfg.WebRTC; w.LoopbackAuto() != c.auto || w.Loopback() != c.on {
			t.Errorf("%q: auto %v, on %v; want %v, %v", c.doc, w.LoopbackAuto(), w.Loopback(), c.auto, c.on)
		}
	}
	for _, bad := range []string{"'true '", "1", "Auto", "maybe"} {
		cfg, err := Parse(strings.NewReader("webrtc: {include_loopback: " + bad + "}"))
		if err != nil {
			t.Fatalf("%s: %v", bad, err)
		}
		if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "webrtc.include_loopback") {
			t.Errorf("include_loopback: %s: %v, want refused naming the key", bad, err)
		}
	}
	if _, err := Parse(strings.NewReader("webrtc: {include_loopback: [true]}")); err == nil {
		t.Error("include_loopback: [true] parsed")
	}
}

// TestGOGC: the gogc key is 50 unless set, and a value outside 10-1000
// is refused naming the key.
func TestGOGC(t *testing.T) {
	if d := Default(); d.GOGC != 50 {
		t.Errorf("gogc %d by default, want 50", d.GOGC)
	}
	cfg, err := Parse(strings.NewReader("gogc: 100"))
	if err != nil || cfg.Validate() != nil || cfg.GOGC != 100 {
		t.Errorf("gogc: 100 parsed as %d, %v, %v", cfg.GOGC, err, cfg.Validate())
	}
	for _, bad := range []string{"0", "9", "1001", "-1"} {
		cfg, err := Parse(strings.NewReader("gogc: " + bad))
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "gogc") {
			t.Errorf("gogc: %s: %v, want refused naming the key", bad, err)
		}
	}
}
