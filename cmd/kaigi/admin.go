package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/store"
	"golang.org/x/term"
)

const adminUsage = `Usage:
  kaigi admin create-user --email E --name N [--role admin|member] [--data DIR]

The password is read from standard input (without echo on a terminal).
The first account on a server becomes its organisation admin.
`

// admin runs the operator's commands, which work on the data directory
// directly (the server may be running).
func admin(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create-user" {
		fmt.Fprint(stderr, adminUsage)
		return errors.New("admin: unknown or missing command")
	}
	fs := flag.NewFlagSet("kaigi admin create-user", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "e-mail address (required)")
	name := fs.String("name", "", "the person's name (required)")
	role := fs.String("role", "member", "organisation role: admin or member")
	data := fs.String("data", config.Default().Data, "data `directory`")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" || *name == "" {
		return errors.New("admin create-user: --email and --name are required")
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}

	ctx := context.Background()
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	sealer, err := auth.LoadOrCreateSealer(*data)
	if err != nil {
		return err
	}
	db, err := store.OpenSQLite(ctx, *data, sealer)
	if err != nil {
		return err
	}
	defer db.Close()
	accounts := auth.NewService(auth.Options{Store: db, Sealer: sealer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	u, err := accounts.CreateFromCommandLine(ctx, *email, *name, password, auth.OrgRole(*role))
	if err != nil {
		return fmt.Errorf("admin create-user: %w", err)
	}
	fmt.Fprintf(stdout, "Created %s <%s>, role %s.\n", u.Name, u.Email, u.Role)
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
