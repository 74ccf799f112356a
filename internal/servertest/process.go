package servertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a Kaigi server running as its own process (the kaigi
// binary, `kaigi serve`), for tests that kill it as a crash would or stop
// it with a signal, then start it again on the same address and data.
// Its Server has the URL and the account helpers; it has no in-process
// server.
type Process struct {
	*Server
	// Data is its data directory.
	Data   string
	t      testing.TB
	bin    string
	args   []string
	listen string
	out    *syncBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // how the last run ended
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds the kaigi command once per test binary (into a temporary
// directory) and returns its path. It embeds the web client as built in
// web/dist.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kaigi-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "kaigi")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/kaigi-meet/kaigi/cmd/kaigi")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build kaigi: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// StartProcess starts `kaigi serve` on a free loopback port with a fresh
// data directory (and any further flags), waits until it answers, and
// kills it when the test ends.
func StartProcess(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	p := &Process{t: t, bin: bin, listen: listen, out: &syncBuffer{}, Data: data,
		args: append([]string{"serve", "--listen", listen, "--data", data, "--log-level", "debug"}, args...)}
	p.Server = &Server{URL: "http://" + listen}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("kaigi process output:\n%s", p.out.String())
		}
	})
	p.Start()
	return p
}

// Start starts the process again (same address, same data) and waits
// until /healthz answers.
func (p *Process) Start() {
	p.t.Helper()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			p.t.Fatalf("kaigi exited on start: %v\n%s", p.err, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("kaigi did not answer within 30 s:\n%s", p.out.String())
		}
	}
}

// Kill kills the process with SIGKILL, as a crash or an out-of-memory
// kill would: nothing is flushed, no client is told. It returns once the
// process is gone.
func (p *Process) Kill() {
	p.Signal(syscall.SIGKILL)
	p.Wait(context.Background())
}

// Signal sends the process a signal.
func (p *Process) Signal(sig os.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Signal(sig)
	}
}

// Wait waits for the process to exit and returns how it ended (nil for
// exit status 0), or ctx's error.
func (p *Process) Wait(ctx context.Context) error {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	if exited == nil {
		return errors.New("not started")
	}
	select {
	case <-exited:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Output is everything the process (all its runs) wrote so far.
func (p *Process) Output() string { return p.out.String() }

// Count is how many lines of the output contain s.
func (p *Process) Count(s string) int {
	n := 0
	for _, l := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}
