// Package pgtest runs a throwaway PostgreSQL server for tests: initdb in
// a temporary directory, postgres listening on a free loopback port (and
// a socket in that directory), stopped and removed when the test binary
// is done. Each test then asks for a database of its own (NewDatabase),
// created from template0 and dropped after the test.
//
// The binaries are found on PATH, else in the newest
// /usr/lib/postgresql/*/bin (Debian's package), else in $KAIGI_PG_BIN.
// PostgreSQL refuses to run as root: a test binary running as root runs
// initdb and postgres as the "postgres" user if there is one, else as
// "nobody".
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Main starts the server only if the binaries exist; without them, tests
// that ask for a database are skipped with the reason, except under
// CI=true, where they fail: CI must install PostgreSQL (scripts/test.sh
// does).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Server is a running throwaway PostgreSQL.
type Server struct {
	dir   string
	port  int
	cmd   *exec.Cmd
	done  chan error
	admin *sql.DB
	n     atomic.Int64
}

var (
	running     *Server
	unavailable error // why there is no server, when there is none
)

// Main starts the server, runs the tests and stops it. Its result is the
// exit code.
func Main(m *testing.M) int {
	bin, err := FindBinaries()
	if err != nil {
		unavailable = err
		return m.Run()
	}
	s, err := Start(bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	running = s
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := s.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "pgtest: stop:", err)
			}
		})
	}
	// Interrupted (Ctrl-C, or a SIGTERM from whatever runs the tests),
	// the server stops and its directory goes before the binary exits;
	// postgres itself would stop anyway (Pdeathsig), but not remove it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		stop()
		fmt.Fprintf(os.Stderr, "pgtest: %v: PostgreSQL stopped and its directory removed\n", sig)
		os.Exit(2)
	}()
	code := m.Run()
	signal.Stop(sigs)
	stop()
	return code
}

// Available reports whether Main started a server, and why not.
func Available() error {
	if running != nil {
		return nil
	}
	if unavailable != nil {
		return unavailable
	}
	return errors.New("pgtest.Main did not run (call it from TestMain)")
}

// NewDatabase returns the URL of a new, empty database on the server
// Main started, dropped when t ends. Without a server it skips t, or
// fails it under CI=true.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is needed and missing under CI: %v (scripts/test.sh installs the postgresql package)", err)
		}
		t.Skipf("PostgreSQL tests skipped: %v (install the postgresql package to run them)", err)
	}
	url, drop, err := running.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return url
}

// FindBinaries returns the directory holding initdb and postgres.
func FindBinaries() (string, error) {
	var dirs []string
	if d := os.Getenv("KAIGI_PG_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	dirs = append(dirs, found...)
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL binaries (initdb, postgres) on PATH, in /usr/lib/postgresql/*/bin or $KAIGI_PG_BIN")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start initialises a cluster in a new temporary directory and starts
// postgres on it.
func Start(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "kaigi-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, done: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	cred, err := credential(dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "kaigi", "--auth=trust",
		"--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if s.port, err = freePort(); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
		// A throwaway: nothing needs to survive a crash.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "log_min_messages=fatal")
	s.cmd.Dir = dir
	// postgres goes (immediate shutdown) if the test binary dies first.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	log, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()

	s.admin, err = sql.Open("pgx", s.url("postgres"))
	if err != nil {
		return nil, err
	}
	// Bounded wait for it to accept connections.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = s.admin.PingContext(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case werr := <-s.done:
			s.done <- werr
			out, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return nil, fmt.Errorf("postgres exited: %v\n%s", werr, out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("postgres did not accept connections within a minute: %w", err)
		}
	}
	ok = true
	return s, nil
}

// credential returns who runs PostgreSQL: nil (this user) unless this is
// root, and then the postgres user or nobody, given dir.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://kaigi@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewDatabase creates an empty database and returns its URL and a
// function that drops it.
func (s *Server) NewDatabase(ctx context.Context) (string, func(), error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.n.Add(1))
	if _, err := s.admin.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE template0`); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	return s.url(name), func() {
		// Connections a test left open are ended with it.
		s.admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	}, nil
}

// URL returns the URL of the server's database name (for tests that
// need one that does not exist, or the maintenance database).
func (s *Server) URL(name string) string { return s.url(name) }

// Running returns the server Main started, or nil.
func Running() *Server { return running }

// Stop stops postgres (a fast shutdown) and removes its directory.
func (s *Server) Stop() error {
	var err error
	if s.admin != nil {
		s.admin.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case err = <-s.done:
			var exit *exec.ExitError
			if errors.As(err, &exit) && strings.Contains(exit.String(), "signal") {
				err = nil
			}
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			err = errors.New("postgres did not stop within 30 s; killed")
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}
