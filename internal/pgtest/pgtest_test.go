package pgtest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the tests under Main, as every package using it does.
func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestHold, in the child that TestInterruptRemovesTheDirectory starts,
// prints the server's directory and waits to be interrupted.
func TestHold(t *testing.T) {
	if os.Getenv("PGTEST_HOLD") == "" {
		t.Skip("run by TestInterruptRemovesTheDirectory")
	}
	if err := Available(); err != nil {
		t.Fatal(err)
	}
	println("dir", running.dir)
	select {}
}

// A test binary stopped with SIGTERM while its server runs leaves no
// PostgreSQL directory behind.
func TestInterruptRemovesTheDirectory(t *testing.T) {
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run", "^TestHold$", "-test.v")
	cmd.Env = append(os.Environ(), "PGTEST_HOLD=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	dir := ""
	for lines.Scan() {
		if d, ok := strings.CutPrefix(lines.Text(), "dir "); ok {
			dir = d
			break
		}
	}
	if dir == "" {
		t.Fatal("the child printed no directory")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the running server's directory: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for lines.Scan() {
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if code := cmd.ProcessState.ExitCode(); code != 2 {
			t.Errorf("the child exited with %d (%v), not 2", code, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the child did not exit within 60 s of SIGTERM")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s is still there after SIGTERM: %v", dir, err)
	}
}
