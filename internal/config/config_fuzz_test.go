package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse: reading a config file and validating it never panics, and a
// config that validates survives being written out as YAML and read back:
// it still validates and writes out the same YAML again (the same values,
// not telling apart an absent list from an empty one).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"listen: 0.0.0.0:8443\ndata: /var/lib/kaigi\npublic_url: https://meet.example.org\n",
		"log_level: debug\nlog_format: json\ntls:\n  cert_file: a.pem\n  key_file: b.pem\n",
		"webrtc:\n  public_ips: [203.0.113.7, \"2001:db8::1\"]\n  udp_port_min: 40000\n  udp_port_max: 40100\n  include_loopback: false\n" +
			"  ice_servers:\n    - urls: [\"stun:stun.example.org:3478\"]\n    - urls: [\"turn:t.example.org\"]\n      username: u\n      credential: c\n",
		"webrtc:\n  udp_port: 50000\nmeetings:\n  max_participants: 1000\nmetrics:\n  token: 0123456789abcdef0123\n",
		"listen: &a 127.0.0.1:1\ndata: *a\n",
		"unknown: 1\n",
		"meetings: {max_participants: 0}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(bytes.NewReader(b))
		if err != nil || c.Validate() != nil {
			return
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("a valid config does not marshal: %v", err)
		}
		if len(out) > 1<<20 {
			// Aliases can make the written form larger than Parse reads
			// (1 MiB): a limit of Parse, not a round-trip failure.
			return
		}
		c2, err := Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("a valid config, written out, does not parse: %v\n%s", err, out)
		}
		if err := c2.Validate(); err != nil {
			t.Fatalf("a valid config, written out and read back, is not valid: %v\n%s", err, out)
		}
		out2, err := yaml.Marshal(c2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("read back as something else (%v):\n%s\nthen\n%s", err, out, out2)
		}
	})
}

// The seed corpus's configs are real: the valid ones validate.
func TestFuzzSeedsValidate(t *testing.T) {
	for _, s := range []string{
		"listen: 0.0.0.0:8443\ndata: /var/lib/kaigi\npublic_url: https://meet.example.org\n",
		"webrtc:\n  udp_port: 50000\nmeetings:\n  max_participants: 1000\nmetrics:\n  token: 0123456789abcdef0123\n",
	} {
		c, err := Parse(strings.NewReader(s))
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			t.Errorf("%q: %v", s, errors.Unwrap(err))
		}
	}
}
