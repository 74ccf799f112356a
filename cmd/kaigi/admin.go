package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/store"
	"golang.org/x/term"
)

const adminUsage = `Usage:
  kaigi admin create-user --email E --name N [--role admin|member] [--data DIR] [--config FILE]
  kaigi admin suspend-user --email E --reason R [--data DIR] [--config FILE]
  kaigi admin reinstate-user --email E [--reason R] [--data DIR] [--config FILE]
  kaigi admin reset-2fa --email E --reason R [--data DIR] [--config FILE]
  kaigi admin delete-user --email E --reason R [--data DIR] [--config FILE]
  kaigi admin legal-request --kind K --outcome O --reason NOTE [--data DIR] [--config FILE]
  kaigi admin list-users --reason WHY [--json] [--data DIR] [--config FILE]
  kaigi admin transparency [--json] [--data DIR] [--config FILE]
  kaigi admin retention run [--data DIR] [--config FILE]
  kaigi admin org show [--data DIR] [--config FILE]
  kaigi admin org set --file FILE|- --reason WHY [--data DIR] [--config FILE]
  kaigi admin rotate-key --reason WHY [--data DIR] [--config FILE]

--config names the server's configuration file: its data directory and,
when it names one, its PostgreSQL database (database:); without it the
commands use SQLite in --data.

create-user reads the password from standard input (without echo on a
terminal); the first account on a server becomes its organisation admin.
The others act as the server's operator: each is recorded in the audit
log with its reason, which the account's owner is shown. The account's
sessions end at once, but a server that is running does not hear of it:
a meeting the account is in goes on until it leaves (the web admin page
ends it at once).

transparency prints the transparency report (the same counts as
GET /api/transparency: no names, IDs or reasons).

list-users prints every account (e-mail, name, role, two-factor,
suspension); the read is recorded in the audit log with its reason, as
every operator read of people's data is.

legal-request records a legal request the operator received, for the
transparency report (which counts them by kind and outcome; the note stays
in the audit log). Kinds: user_data, meeting_data, suspension, takedown,
interception, other. Outcomes: complied, partly_complied, refused, pending.

org shows or sets the organisation's policy (kaigi admin org for more).

rotate-key replaces the sealing key, secret.key, with a new one and
re-seals the database under it; stop the server first (kaigi admin
rotate-key -h for more).
`

// admin runs the operator's commands, which work on the data directory
// directly (the server may be running).
func admin(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return errors.New("admin: missing command")
	}
	cmd := args[0]
	if cmd == "retention" {
		return adminRetention(args[1:], stdout, stderr)
	}
	if cmd == "org" {
		return adminOrg(args[1:], stdin, stdout, stderr)
	}
	if cmd == "rotate-key" {
		return adminRotateKey(args[1:], stdout, stderr)
	}
	switch cmd {
	case "create-user", "suspend-user", "reinstate-user", "reset-2fa", "delete-user", "legal-request", "list-users", "transparency":
	default:
		fmt.Fprint(stderr, adminUsage)
		return fmt.Errorf("admin: unknown command %q", cmd)
	}
	fs := flag.NewFlagSet("kaigi admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "e-mail address (required)")
	data := fs.String("data", "", "data `directory` (default: the configuration's, else "+config.Default().Data+")")
	cfgFile := fs.String("config", "", "the server's YAML configuration `file`, for its data directory and database")
	var name, role, reason, kind, outcome *string
	asJSON := new(bool)
	switch cmd {
	case "create-user":
		name = fs.String("name", "", "the person's name (required)")
		role = fs.String("role", "member", "organisation role: admin or member")
	case "transparency":
		asJSON = fs.Bool("json", false, "print the report as JSON")
	case "list-users":
		reason = fs.String("reason", "", "why the operator reads the accounts (required; recorded)")
		asJSON = fs.Bool("json", false, "print one JSON object per account")
	case "legal-request":
		kind = fs.String("kind", "", "what was asked for (required)")
		outcome = fs.String("outcome", "", "what came of it (required)")
		reason = fs.String("reason", "", "a note for administrators: who asked, reference (required)")
	default:
		reason = fs.String("reason", "", "the reason, shown to the account's owner (required, except to reinstate)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("admin %s: unexpected argument %q", cmd, fs.Arg(0))
	}
	if *email == "" && cmd != "legal-request" && cmd != "list-users" && cmd != "transparency" {
		return fmt.Errorf("admin %s: --email is required", cmd)
	}
	if name != nil && *name == "" {
		return fmt.Errorf("admin %s: --name is required", cmd)
	}
	var password string
	if cmd == "create-user" {
		var err error
		if password, err = readPassword(stdin, stderr); err != nil {
			return err
		}
	}

	cfg, err := operatorConfig(*cfgFile, *data)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	sealer, err := auth.LoadOrCreateSealer(cfg.Data)
	if err != nil {
		return err
	}
	defer sealer.Close() // the data directory's lock (auth/rotate.go)
	// The database the server uses: PostgreSQL when the configuration
	// names one, else SQLite in the data directory.
	db, err := store.Open(ctx, cfg.Database, cfg.Data, sealer)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts := auth.NewService(auth.Options{Store: db, Sealer: sealer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if cmd == "transparency" {
		rep, err := accounts.TransparencyReport(ctx)
		if err != nil {
			return fmt.Errorf("admin transparency: %w", err)
		}
		return writeReport(stdout, rep, *asJSON)
	}
	if cmd == "list-users" {
		users, err := accounts.OperatorListUsers(ctx, *reason)
		if err != nil {
			return fmt.Errorf("admin list-users: %w", err)
		}
		return writeUsers(stdout, users, *asJSON)
	}
	if cmd == "legal-request" {
		e, err := accounts.RecordLegalRequest(ctx, *kind, *outcome, *reason)
		if err != nil {
			return fmt.Errorf("admin legal-request: %w", err)
		}
		fmt.Fprintf(stdout, "Recorded legal request (entry %d): %s, %s.\n", e.Seq, *kind, *outcome)
		return nil
	}
	if cmd == "create-user" {
		u, err := accounts.CreateFromCommandLine(ctx, *email, *name, password, auth.OrgRole(*role))
		if err != nil {
			return fmt.Errorf("admin create-user: %w", err)
		}
		fmt.Fprintf(stdout, "Created %s <%s>, role %s.\n", u.Name, u.Email, u.Role)
		return nil
	}
	u, err := accounts.UserByEmail(ctx, *email)
	if err != nil {
		return fmt.Errorf("admin %s: %s: %w", cmd, *email, err)
	}
	switch cmd {
	case "suspend-user":
		_, err = accounts.SuspendUser(ctx, auth.ByOperator, u.ID, *reason)
	case "reinstate-user":
		_, err = accounts.ReinstateUser(ctx, auth.ByOperator, u.ID, *reason)
	case "reset-2fa":
		_, err = accounts.ResetTwoFactor(ctx, auth.ByOperator, u.ID, *reason)
	case "delete-user":
		err = accounts.DeleteUser(ctx, auth.ByOperator, u.ID, *reason)
	}
	if err != nil {
		return fmt.Errorf("admin %s: %w", cmd, err)
	}
	fmt.Fprintf(stdout, "Done: %s for %s <%s>; recorded in the audit log.\n", cmd, u.Name, u.Email)
	return nil
}

// readPassword reads one line: without echo from a terminal, plainly from
// a pipe.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password (at least 10 characters): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// writeUsers prints accounts for the operator: a table, or JSON lines.
func writeUsers(w io.Writer, users []auth.User, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, u := range users {
			j := map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "role": u.Role, "twoFactor": u.TwoFactor(), "createdAt": u.CreatedAt}
			if u.Suspended() {
				j["suspended"] = map[string]any{"at": u.SuspendedAt, "reason": u.SuspendReason}
			}
			if err := enc.Encode(j); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "E-MAIL\tNAME\tROLE\tTWO-FACTOR\tSTATUS")
	for _, u := range users {
		status := "active"
		if u.Suspended() {
			status = "suspended: " + u.SuspendReason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", u.Email, u.Name, u.Role, u.TwoFactor(), status)
	}
	return tw.Flush()
}

// writeReport prints the transparency report: every published category
// with its total and its count per month, or the same as JSON.
func writeReport(w io.Writer, rep audit.Report, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]any{"verified": rep.Verified, "entries": rep.Entries, "totals": rep.Totals, "months": rep.Months})
	}
	verdict := "the chain verifies"
	if !rep.Verified {
		verdict = "the chain does NOT verify"
	}
	fmt.Fprintf(w, "Counted from %d audit log entries; %s.\n\n", rep.Entries, verdict)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "WHAT\tTOTAL")
	for _, m := range rep.Months {
		fmt.Fprintf(tw, "\t%s", m.Month)
	}
	fmt.Fprintln(tw)
	for _, p := range audit.Published {
		fmt.Fprintf(tw, "%s\t%d", p.Description, rep.Totals[p.Action])
		for _, m := range rep.Months {
			fmt.Fprintf(tw, "\t%d", m.Counts[p.Action])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
