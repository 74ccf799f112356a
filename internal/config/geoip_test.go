package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeoIPDatabase: geoip.database is parsed, must name a file that
// exists, and a misspelt key inside geoip is rejected like any other.
func TestGeoIPDatabase(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "country.mmdb")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(strings.NewReader("geoip:\n  database: " + file + "\n"))
	if err != nil || cfg.GeoIP.Database != file {
		t.Fatalf("Parse = %+v, %v", cfg.GeoIP, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if Default().GeoIP.Database != "" {
		t.Error("a database by default")
	}
	for _, p := range []string{filepath.Join(dir, "missing.mmdb"), dir} {
		cfg.GeoIP.Database = p
		if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "geoip.database:") {
			t.Errorf("database %q: Validate = %v, want an error naming geoip.database", p, err)
		}
	}
	if _, err := Parse(strings.NewReader("geoip:\n  databse: x\n")); err == nil {
		t.Error("a misspelt key under geoip was accepted")
	}
}
