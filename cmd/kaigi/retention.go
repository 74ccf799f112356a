package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
)

const retentionUsage = `Usage:
  kaigi admin retention run [--data DIR] [--config FILE]

run deletes, once, what is past the organisation's retention limits (set
on the admin page): meetings unused for longer than their limit, records
of ended sessions, and audit entries older than their limit (never younger
than the legal minimum, retention.audit_minimum_days in the configuration:
pass the server's --config so that a higher minimum set there applies).
It prints how many of each it deleted and records the run in the audit
log as the operator's. The server runs the same job at start and hourly;
a meeting someone is in (as the database records it) is kept.
`

// adminRetention runs `kaigi admin retention ...`.
func adminRetention(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprint(stderr, retentionUsage)
		return errors.New("admin retention: unknown or missing command")
	}
	fs := flag.NewFlagSet("kaigi admin retention run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "data `directory` (default: the configuration's, else "+config.Default().Data+")")
	cfgFile := fs.String("config", "", "the server's YAML configuration `file`, for its data directory and legal minimum")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("admin retention run: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := operatorConfig(*cfgFile, *data)
	if err != nil {
		return err
	}
	ctx := context.Background()
	db, err := openExisting(ctx, cfg.Database, cfg.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts := auth.NewService(auth.Options{Store: db, AuditMinimumDays: cfg.Retention.AuditMinimumDays,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	res, err := accounts.ApplyRetention(ctx, db, auth.RetentionRun{ByOperator: true})
	if err != nil {
		return fmt.Errorf("admin retention run: %w", err)
	}
	fmt.Fprintf(stdout, "Deleted %d meetings, %d records of ended sessions and %d audit entries; recorded as audit entry %d.\n",
		res.Meetings, res.Sessions, res.AuditEntries, res.Entry.Seq)
	if res.AuditRefused != "" {
		return fmt.Errorf("admin retention run: audit entries past the limit were kept, because the chain does not verify (%s): investigate with kaigi audit verify", res.AuditRefused)
	}
	return nil
}

// operatorConfig is the configuration an operator's command works with:
// the file given (else the defaults), with --data over its data
// directory, validated.
func operatorConfig(file, data string) (config.Config, error) {
	cfg := config.Default()
	if file != "" {
		var err error
		if cfg, err = config.Load(file); err != nil {
			return cfg, err
		}
	}
	if data != "" {
		cfg.Data = data
	}
	return cfg, cfg.Validate()
}
