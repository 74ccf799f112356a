package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
)

const orgUsage = `Usage:
  kaigi admin org show [--data DIR] [--config FILE]
  kaigi admin org set --file FILE|- --reason WHY [--data DIR] [--config FILE]

show prints the organisation's policy as JSON, the object of
GET /api/admin/org: name, require2FA, allowSignUp, meetingDefaults,
country, retention, without geoip (its auditMinimumDays is the legal
minimum of the configuration: pass the server's --config).

set reads that object, whole, from FILE (or standard input for -) and
saves it as the operator, with the checks of the admin page: meeting
defaults, country rules (refused when the configuration has no
geoip.database, unless off), and retention limits no lower than the legal
minimum, retention.audit_minimum_days (pass the server's --config). The
change is recorded in the audit log (org.policy_changed) with the reason.
A server that is running reads the new policy at the next request.
`

// maxOrgFile is the largest policy file set reads.
const maxOrgFile = 1 << 20

// adminOrg runs `kaigi admin org ...`.
func adminOrg(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "set") {
		fmt.Fprint(stderr, orgUsage)
		return errors.New("admin org: unknown or missing command")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("kaigi admin org "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "data `directory` (default: the configuration's, else "+config.Default().Data+")")
	cfgFile := fs.String("config", "", "the server's YAML configuration `file`, for its data directory, legal minimum and GeoIP database")
	var file, reason *string
	if cmd == "set" {
		file = fs.String("file", "", "the policy as JSON, `FILE` or - for standard input (required)")
		reason = fs.String("reason", "", "why the policy changes (required; recorded)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("admin org %s: unexpected argument %q", cmd, fs.Arg(0))
	}
	cfg, err := operatorConfig(*cfgFile, *data)
	if err != nil {
		return err
	}
	var o auth.Org
	if cmd == "set" {
		if *file == "" {
			return errors.New("admin org set: --file is required")
		}
		var err error
		if o, err = readOrg(*file, stdin); err != nil {
			return fmt.Errorf("admin org set: %w", err)
		}
		// As the API answers geoip_unavailable: a rule that is on needs
		// the database the server loads.
		if cfg.GeoIP.Database == "" && (o.Country.On() || o.MeetingDefaults.Country.On()) {
			return errors.New("admin org set: country rules need a GeoIP database, and the configuration has none: set geoip.database (see docs/operations.md) and pass --config, or turn the rule off")
		}
	}

	ctx := context.Background()
	db, err := openExisting(ctx, cfg.Database, cfg.Data)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts := auth.NewService(auth.Options{Store: db, AuditMinimumDays: cfg.Retention.AuditMinimumDays,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if cmd == "set" {
		if err := accounts.OperatorUpdateOrg(ctx, o, *reason); err != nil {
			return fmt.Errorf("admin org set: %w", err)
		}
	}
	saved, err := accounts.Org(ctx)
	if err != nil {
		return err
	}
	if cmd == "set" {
		fmt.Fprintln(stderr, "Saved; recorded in the audit log. The policy is now:")
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(saved)
}

// readOrg decodes the policy strictly (an unknown field, or anything
// after the object, is an error) from path, or stdin for "-". The geoip
// field the API answers is accepted and ignored, as PUT does.
func readOrg(path string, stdin io.Reader) (auth.Org, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return auth.Org{}, err
		}
		defer f.Close()
		r = f
	}
	var body struct {
		auth.Org
		GeoIP any `json:"geoip"` // what the API answers; read-only, ignored
	}
	dec := json.NewDecoder(io.LimitReader(r, maxOrgFile))
	dec.DisallowUnknownFields()
	err := dec.Decode(&body)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	if err != nil {
		return auth.Org{}, fmt.Errorf("%s: not the organisation's policy as JSON: %w", path, err)
	}
	return body.Org, nil
}
