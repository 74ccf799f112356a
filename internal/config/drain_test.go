package config

import (
	"strings"
	"testing"
	"time"
)

func TestDrainTimeout(t *testing.T) {
	if d := Default().DrainTimeout; d != 15*time.Second {
		t.Errorf("default drain_timeout = %v, want 15s", d)
	}
	for in, want := range map[string]time.Duration{"drain_timeout: 3s\n": 3 * time.Second, "drain_timeout: 0s\n": 0} {
		c, err := Parse(strings.NewReader(in))
		if err == nil {
			err = c.Validate()
		}
		if err != nil || c.DrainTimeout != want {
			t.Errorf("%q = %v, %v; want %v", in, c.DrainTimeout, err, want)
		}
	}
	if _, err := Parse(strings.NewReader("drain_timeout: soon\n")); err == nil {
		t.Error("a drain_timeout that is not a duration was accepted")
	}
	for _, in := range []string{"drain_timeout: -1s\n", "drain_timeout: 11m\n"} {
		c, err := Parse(strings.NewReader(in))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), "drain_timeout") {
			t.Errorf("%q: err %v; want one naming drain_timeout", in, err)
		}
	}
}
