package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/store"
)

const auditUsage = `Usage:
  kaigi audit verify [--data DIR] [--config FILE] [--head SEQ:HASH]
      recompute the audit log's hash chain; exit status 1 naming the first
      entry that does not match. With --head, also check that a head
      published earlier is still in the log (nothing rewritten or cut).
  kaigi audit head [--data DIR] [--config FILE]
      print the chain's head (SEQ:HASH), to publish elsewhere
  kaigi audit list --reason WHY [--data DIR] [--config FILE] [--after SEQ] [--limit N] [--json]
      print entries in order; the read itself is recorded (operator.read,
      with the reason), since entries name accounts and carry reasons
`

// auditCmd runs `kaigi audit ...` on a data directory (the server may be
// running: SQLite's WAL lets both read).
func auditCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "head" && args[0] != "list") {
		fmt.Fprint(stderr, auditUsage)
		return errors.New("audit: unknown or missing command")
	}
	fs := flag.NewFlagSet("kaigi audit "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "data `directory` (default: the configuration's, else "+config.Default().Data+")")
	cfgFile := fs.String("config", "", "the server's YAML configuration `file`, for its data directory and database")
	headText := fs.String("head", "", "a head published earlier, `SEQ:HASH` (verify)")
	after := fs.Int64("after", 0, "list entries after this `number`")
	limit := fs.Int("limit", 100, "list at most this many `entries`")
	asJSON := fs.Bool("json", false, "list as JSON lines")
	reason := fs.String("reason", "", "why the operator reads the log (list; recorded)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	var published *audit.Head
	if *headText != "" {
		h, err := audit.ParseHead(*headText)
		if err != nil {
			return err
		}
		published = &h
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

	switch args[0] {
	case "list":
		if strings.TrimSpace(*reason) == "" {
			return errors.New("audit list: --reason is required: the operator's reads are recorded with their reason")
		}
		entries, err := db.AuditEntries(ctx, *after, *limit)
		if err != nil {
			return err
		}
		// The read is recorded before anything is printed: a reason the
		// log refuses prints nothing.
		accounts := auth.NewService(auth.Options{Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err := accounts.RecordOperatorRead(ctx, "audit log", len(entries), *reason); err != nil {
			return fmt.Errorf("audit list: %w", err)
		}
		return writeEntries(stdout, entries, *asJSON)
	default:
		head, err := audit.VerifyAll(ctx, db, published)
		if err != nil {
			return err
		}
		if args[0] == "head" {
			fmt.Fprintln(stdout, head)
			return nil
		}
		fmt.Fprintf(stdout, "audit log verified: %d entries, head %s\n", head.Seq, head)
		if published != nil {
			fmt.Fprintf(stdout, "the published head %s is in the log\n", published)
		}
		return nil
	}
}

// openExisting opens the configuration's PostgreSQL database (database
// non-empty), or the SQLite database of a data directory that has one;
// it never creates a fresh, empty SQLite one (which would "verify"
// trivially).
func openExisting(ctx context.Context, database, dir string) (*store.SQLite, error) {
	if database != "" {
		return store.OpenPostgres(ctx, database, nil)
	}
	if _, err := os.Stat(filepath.Join(dir, "kaigi.db")); err != nil {
		return nil, fmt.Errorf("no Kaigi database in %s (--data): %w", dir, err)
	}
	// No sealer: the audit log holds nothing sealed, and loading one
	// would create a key file in a directory that lost its own.
	return store.OpenSQLite(ctx, dir, nil)
}

func writeEntries(w io.Writer, entries []audit.Entry, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, e := range entries {
			if err := enc.Encode(audit.ToJSON(e, audit.ShownWhole)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tACTOR\tACTION\tSUBJECT\tREASON\tDETAILS")
	for _, e := range entries {
		j := audit.ToJSON(e, audit.ShownWhole)
		actor := string(e.ActorKind)
		if e.ActorID != "" {
			actor += ":" + e.ActorID
		}
		subject := string(e.SubjectKind)
		if e.SubjectID != "" {
			subject += ":" + e.SubjectID
		}
		var details []string
		for _, k := range slices.Sorted(maps.Keys(j.Details)) {
			details = append(details, k+"="+j.Details[k])
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%q\t%s\n", e.Seq, e.Time.Format(time.DateTime), actor, e.Action, subject, e.Reason, strings.Join(details, " "))
	}
	return tw.Flush()
}
