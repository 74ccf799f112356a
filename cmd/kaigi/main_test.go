package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesBadConfiguration: every mistake is reported before
// anything starts, naming what is wrong.
func TestServeRefusesBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "nowhere"}, "listen"},
		{[]string{"--log-level", "shouty"}, "log_level"},
		{[]string{"--config", write("typo.yaml", "listne: 127.0.0.1:1\n")}, "listne"},
		{[]string{"--config", write("bad.yaml", "webrtc: {udp_port: 99999}\n")}, "webrtc.udp_port"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"stray"}, "unexpected argument"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := serve(tt.args, &out, &errOut)
		if err == nil {
			t.Errorf("serve %v started", tt.args)
			continue
		}
		if msg := err.Error() + errOut.String(); !strings.Contains(msg, tt.want) {
			t.Errorf("serve %v: %q does not mention %q", tt.args, msg, tt.want)
		}
		if out.Len() != 0 {
			t.Errorf("serve %v printed %q before failing", tt.args, out.String())
		}
	}
}

// TestFlagsOverrideConfigFile: a flag given explicitly wins over the file,
// and the file's other keys still apply (the listen address from the file
// is refused, proving the file was read; the flag's is used).
func TestFlagsOverrideConfigFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kaigi.yaml")
	os.WriteFile(p, []byte("listen: not-an-address\nlog_level: loud\n"), 0o600)
	err := serve([]string{"--config", p, "--listen", "127.0.0.1:0"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "log_level") {
		t.Fatalf("serve = %v, want the file's log_level refused after --listen replaced its listen", err)
	}
}

func TestAdminCreateUser(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := admin([]string{"create-user", "--data", dir, "--email", "Ada@Example.org", "--name", "Ada"},
		strings.NewReader("correct horse battery\n"), &out, &errOut)
	if err != nil {
		t.Fatalf("create-user: %v (%s)", err, errOut.String())
	}
	if !strings.Contains(out.String(), "ada@example.org") || !strings.Contains(out.String(), "role admin") {
		t.Fatalf("first account: %q, want the admin", out.String())
	}
	out.Reset()
	err = admin([]string{"create-user", "--data", dir, "--email", "bob@example.org", "--name", "Bob"},
		strings.NewReader("another long password\n"), &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "role member") {
		t.Fatalf("second account: %q, %v", out.String(), err)
	}
	for _, args := range [][]string{
		{"create-user", "--data", dir, "--email", "cy@example.org"},
		{"create-user", "--data", dir, "--email", "bob@example.org", "--name", "Bob"},
		{"delete-everything"},
	} {
		if err := admin(args, strings.NewReader("another long password\n"), &out, &errOut); err == nil {
			t.Errorf("admin %v succeeded", args)
		}
	}
	if err := admin([]string{"create-user", "--data", dir, "--email", "dee@example.org", "--name", "Dee"},
		strings.NewReader("short\n"), &out, &errOut); err == nil {
		t.Error("a short password was accepted")
	}
}
