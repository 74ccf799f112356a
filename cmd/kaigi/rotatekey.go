package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/store"
)

const rotateKeyUsage = `Usage:
  kaigi admin rotate-key --reason WHY [--data DIR] [--config FILE]

rotate-key replaces the data directory's sealing key (secret.key, which
locks two-factor secrets and meeting passcodes in the database and signs
the browsers' known-device cookies) with a new random one: every sealed
value is re-sealed under the new key in one transaction with the audit
entry (server.key_rotated, with both keys' fingerprints, never the keys),
then the new key replaces secret.key. A crash at any point is finished or
rolled back by the next start of the server or of a command.

Stop the server first: rotate-key refuses to run while a server or another
kaigi command uses the data directory. Known devices are forgotten: each
person's next two-factor sign-in counts against their account's budget of
wrong codes, as from a new browser. Back up the new secret.key (apart from
the database); backups of the database made before the rotation open only
with the old key.
`

// adminRotateKey runs `kaigi admin rotate-key`.
func adminRotateKey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kaigi admin rotate-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, rotateKeyUsage) }
	data := fs.String("data", "", "data `directory` (default: the configuration's, else "+config.Default().Data+")")
	cfgFile := fs.String("config", "", "the server's YAML configuration `file`, for its data directory")
	reason := fs.String("reason", "", "why the key is rotated (required; recorded)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("admin rotate-key: unexpected argument %q", fs.Arg(0))
	}
	if strings.TrimSpace(*reason) == "" {
		return errors.New("admin rotate-key: --reason is required (it is recorded in the audit log)")
	}
	cfg, err := operatorConfig(*cfgFile, *data)
	if err != nil {
		return err
	}
	dbPath := filepath.Join(cfg.Data, "kaigi.db")
	if _, err := os.Stat(dbPath); err != nil && cfg.Database == "" {
		return fmt.Errorf("admin rotate-key: no Kaigi database in %s (--data): %w", cfg.Data, err)
	}
	sealer, err := auth.OpenSealerForRotation(cfg.Data)
	if errors.Is(err, auth.ErrKeyInUse) {
		return fmt.Errorf("admin rotate-key: %w: stop the server (for example systemctl stop kaigi) and any other kaigi command on it, then run this again", err)
	} else if err != nil {
		return fmt.Errorf("admin rotate-key: %w", err)
	}
	defer sealer.Close()
	ctx := context.Background()
	// Opening settles a rotation interrupted earlier, before this one.
	// The configuration's database: PostgreSQL's values are sealed with
	// this data directory's key too.
	db, err := store.Open(ctx, cfg.Database, cfg.Data, sealer)
	if err != nil {
		return fmt.Errorf("admin rotate-key: %w", err)
	}
	defer db.Close()
	rot, err := auth.RotateKey(ctx, sealer, db, *reason)
	if err != nil {
		return fmt.Errorf("admin rotate-key: %w", err)
	}
	fmt.Fprintf(stdout, `Rotated the sealing key of %s; recorded as audit entry %d.
  old key fingerprint: %s
  new key fingerprint: %s
  re-sealed: %s values (two-factor secrets and meeting passcodes)
Known devices are forgotten: everyone's next two-factor sign-in counts
against their account's budget of wrong codes, as from a new browser.
Back up the new secret.key now, apart from the database: backups of the
database made before this rotation open only with the old key.
`, cfg.Data, rot.Entry.Seq, rot.Old, rot.New, rot.Entry.Details["resealed"])
	return nil
}
