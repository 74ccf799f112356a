package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

// OpenPostgres opens the PostgreSQL database dsn names (a postgres://
// URL; libpq's parameters, PGPASSWORD and ~/.pgpass apply) and brings its
// schema up to date. Errors never repeat the URL: it may hold a password.
func OpenPostgres(ctx context.Context, dsn string, sealer *auth.Sealer) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("database: not a valid postgres:// URL")
	}
	db := stdlib.OpenDB(*cfg)
	// A node's share of the server's connections; idle ones go after a
	// minute.
	db.SetMaxOpenConns(16)
	db.SetConnMaxIdleTime(time.Minute)
	where := RedactURL(dsn)
	pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", where, err)
	}
	return open(ctx, db, postgresDialect, sealer, where)
}

// RedactURL returns a database URL fit for logs and errors: its password
// (and any query parameter that may be one) replaced by "xxxxx".
func RedactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(a database URL that does not parse)"
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "password", "sslpassword", "sslkey":
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}
