package config

import (
	"strings"
	"testing"
)

// TestDatabaseURL: the database key takes a postgres:// URL naming a host
// and a database, or nothing (SQLite); a wrong one is refused naming the
// key, and the error never repeats the value, which may hold a password.
func TestDatabaseURL(t *testing.T) {
	for _, ok := range []string{
		"",
		"postgres://kaigi@db.example.org/kaigi?sslmode=verify-full",
		"postgresql://kaigi:s3cret-pw@10.0.0.5:5433/kaigi",
		"postgres:///kaigi?host=/run/postgresql",
	} {
		c := Default()
		c.Database = ok
		if err := c.Validate(); err != nil {
			t.Errorf("database %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"mysql://kaigi:s3cret-pw@db/kaigi",
		"kaigi:s3cret-pw@db/kaigi",
		"postgres://kaigi:s3cret-pw@/kaigi",
		"postgres://kaigi:s3cret-pw@db.example.org/",
		"postgres://kaigi:s3cret-pw@db.example.org/kaigi?sslmode=on",
		"postgres://kaigi:s3cret-pw@db.example.org:port/kaigi",
	} {
		cfg, err := Parse(strings.NewReader("database: '" + bad + "'\n"))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		err = cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "database:") {
			t.Errorf("database %q: Validate = %v, want an error naming database", bad, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("database %q: the error repeats the password: %v", bad, err)
		}
	}
}
