// Command kaigi runs the Kaigi video meeting server and its tools.
//
//	kaigi serve [--listen ADDR] [--data DIR] [--config FILE]
//	kaigi admin create-user --email E --name N [--role admin|member] [--data DIR]
//	kaigi geoip import [--from DIR_OR_FILE] --out FILE
//	kaigi loadtest [--scenario fanout|meeting|joinstorm] [--n N] [--json] ...
//	kaigi version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/server"
	"github.com/kaigi-meet/kaigi/web"
)

const usage = `Kaigi: self-hosted, end-to-end encrypted video meetings.

Usage:
  kaigi serve [flags]         run the server (kaigi serve -h lists the flags)
  kaigi admin create-user ... create an account (the first one is the admin)
  kaigi audit verify|head|list  check, publish or read the audit log
  kaigi geoip import --out F  build the country database from tor-geoipdb's files
  kaigi loadtest [flags]      measure forwarding with synthetic participants
  kaigi version               print the version and the web client's SHA-256
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:], os.Stdout, os.Stderr)
	case "admin":
		err = admin(os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	case "audit":
		err = auditCmd(os.Args[2:], os.Stdout, os.Stderr)
	case "geoip":
		err = geoipCmd(os.Args[2:], os.Stdout, os.Stderr)
	case "loadtest":
		err = loadtestCmd(os.Args[2:], os.Stdout, os.Stderr)
	case "version", "--version", "-v":
		err = printVersion(os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "kaigi: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "kaigi:", err)
		}
		os.Exit(1)
	}
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kaigi serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := config.Default()
	listen := fs.String("listen", def.Listen, "HTTP listen address `host:port`")
	data := fs.String("data", def.Data, "data `directory` (created if missing)")
	configFile := fs.String("config", "", "YAML configuration `file`; flags given explicitly override it")
	logLevel := fs.String("log-level", def.LogLevel, "log `level`: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}

	cfg := def
	if *configFile != "" {
		var err error
		if cfg, err = config.Load(*configFile); err != nil {
			return err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			cfg.Listen = *listen
		case "data":
			cfg.Data = *data
		case "log-level":
			cfg.LogLevel = *logLevel
		}
	})
	if err := cfg.Validate(); err != nil {
		return err
	}

	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	gogc, from := setGCTarget(cfg, os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal drains gracefully; a second one ends the process at
	// once (the signals' default), which crash-safe resume makes safe.
	context.AfterFunc(ctx, stop)

	srv, err := server.New(ctx, cfg, server.Options{Logger: log, Web: web.Dist()})
	if err != nil {
		return err
	}
	log.Info("kaigi started", "version", server.Version, "listen", cfg.Listen, "data", cfg.Data, "gogc", gogc, "gogc_from", from)
	// SIGHUP reloads the TLS certificate (a renewal needs no restart).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-hup:
				srv.ReloadCertificate(ctx) // logs what it did
			case <-ctx.Done():
				return
			}
		}
	}()
	fmt.Fprintf(stdout, "Kaigi %s is running. Open %s in your browser.\n", server.Version, srv.URL())
	return srv.Serve(ctx)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // checked by Validate
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
