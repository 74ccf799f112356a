// Package clustertest gives multi-node tests (TestCluster…) a network of
// their own: every node is a process in a network namespace of its own,
// with its own address on a bridge that joins it to the others and to the
// test process, as machines on one LAN are. Killing a node's process takes
// its namespace, its sockets and its address with it, as a machine that
// dies does.
//
// It needs what scripts/isolated.sh gives: root in a private network
// namespace (the bridge and the nodes' links live there and vanish with
// it), unshare(1), nsenter(1) and ip(8). Each Network has a /24 of its own
// in 198.19.0.0/16, part of the benchmarking range 198.18.0.0/15 that
// isolated.sh uses too; test binaries of several packages run at once in
// one namespace, and a lock file per /24 keeps their bridges apart. No
// packet leaves the test's namespace.
package clustertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Network is a bridge in the test's namespace, with the test process on it
// at Gateway.
type Network struct {
	Prefix  netip.Prefix // the bridge's /24
	Gateway netip.Addr   // the test process's address on it (.1)

	t      testing.TB
	bridge string
	lock   *os.File // held while the /24 is this Network's

	mu    sync.Mutex
	next  int // last octet of the next node's address
	nodes []*Node
}

// Available reports why multi-node tests cannot run here, or nil: they
// need root in the private namespace scripts/isolated.sh makes, and the
// tools.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("clustertest needs root in a private network namespace: run the tests through scripts/isolated.sh")
	}
	for _, tool := range []string{"ip", "unshare", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("clustertest needs %s: %w", tool, err)
		}
	}
	if !privateNamespace() {
		return errors.New("clustertest builds bridges only inside a private network namespace: run the tests through scripts/isolated.sh")
	}
	return nil
}

// privateNamespace reports whether this process's network namespace is
// not the machine's: the one scripts/isolated.sh makes has only lo, its
// own veth pair (v0, v1), and the links of clustertest Networks.
func privateNamespace() bool {
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		return false
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		name := strings.TrimSuffix(strings.SplitN(fields[1], "@", 2)[0], ":")
		switch {
		case name == "lo", name == "v0", name == "v1", strings.HasPrefix(name, "kbr"), strings.HasPrefix(name, "kh"):
		default:
			return false
		}
	}
	return true
}

// NewNetwork makes a bridge and puts the test process on it. It skips the
// test when Available says no, except under CI=true, where it fails: CI
// runs every test inside the namespace.
func NewNetwork(t testing.TB) *Network {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	third, lock, err := claimSubnet()
	if err != nil {
		t.Fatal(err)
	}
	n := &Network{
		Prefix:  netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(third), 0}), 24),
		Gateway: netip.AddrFrom4([4]byte{198, 19, byte(third), 1}),
		t:       t,
		bridge:  fmt.Sprintf("kbr%d", third),
		lock:    lock,
		next:    11,
	}
	t.Cleanup(func() { _ = n.lock.Close() })
	n.ip("link", "add", n.bridge, "type", "bridge")
	t.Cleanup(func() {
		n.mu.Lock()
		nodes := append([]*Node(nil), n.nodes...)
		n.mu.Unlock()
		for _, node := range nodes {
			node.Kill()
		}
		_ = exec.Command("ip", "link", "del", n.bridge).Run()
	})
	n.ip("addr", "add", netip.PrefixFrom(n.Gateway, 24).String(), "dev", n.bridge)
	n.ip("link", "set", n.bridge, "up")
	return n
}

// claimSubnet takes the first free 198.19.X.0/24 (X in 1–250): free means
// that no other process holds the lock file for X.
func claimSubnet() (int, *os.File, error) {
	for x := 1; x <= 250; x++ {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("kaigi-clustertest-%d.lock", x))
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return 0, nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return x, f, nil
		}
		_ = f.Close()
	}
	return 0, nil, errors.New("clustertest: every 198.19.X.0/24 is taken")
}

func (n *Network) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Node is a command running in a namespace of its own on the Network.
type Node struct {
	Name string
	Addr netip.Addr // its address on the bridge

	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	waited error
}

// Start runs command with args in a new network namespace: loopback up,
// and one link (eth0) on the bridge with the next free address, the
// Gateway as its default route. The command starts only once its link is
// up. name labels it; its output is kept (Output) and logged if the test
// fails. extraEnv is added to the test process's environment.
func (n *Network) Start(name string, extraEnv []string, command string, args ...string) *Node {
	n.t.Helper()
	n.mu.Lock()
	octet := n.next
	n.next++
	n.mu.Unlock()
	if octet > 250 {
		n.t.Fatal("clustertest: too many nodes")
	}
	addr := n.Prefix.Addr().As4()
	addr[3] = byte(octet)
	node := &Node{Name: name, Addr: netip.AddrFrom4(addr), out: &syncBuffer{}, done: make(chan struct{})}
	third := addr[2]
	link := fmt.Sprintf("kh%d.%d", third, octet)  // the bridge's end, here
	moved := fmt.Sprintf("kn%d.%d", third, octet) // the node's end until it is moved

	// The child, once in its namespace, says so on file descriptor 3 and
	// waits on its standard input until its link is up; then it becomes
	// the command, with standard input at end of file.
	hold := `echo >&3 && exec 3>&- && read _ignored; exec "$@"`
	node.cmd = exec.Command("unshare", append([]string{"-n", "sh", "-c", hold, "sh", command}, args...)...)
	node.cmd.Env = append(os.Environ(), extraEnv...)
	node.cmd.Stdout = node.out
	node.cmd.Stderr = node.out
	stdin, err := node.cmd.StdinPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	ready, readyW, err := os.Pipe()
	if err != nil {
		n.t.Fatal(err)
	}
	defer ready.Close()
	node.cmd.ExtraFiles = []*os.File{readyW}
	err = node.cmd.Start()
	_ = readyW.Close()
	if err != nil {
		n.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		node.waited = node.cmd.Wait()
		close(node.done)
	}()
	n.mu.Lock()
	n.nodes = append(n.nodes, node)
	n.mu.Unlock()
	n.t.Cleanup(func() {
		if n.t.Failed() {
			n.t.Logf("output of %s (%s):\n%s", name, node.Addr, node.Output())
		}
	})

	if _, err := ready.Read(make([]byte, 1)); err != nil {
		n.t.Fatalf("%s: its namespace was not made: %v\n%s", name, err, node.Output())
	}
	pid := strconv.Itoa(node.cmd.Process.Pid)
	n.ip("link", "add", link, "type", "veth", "peer", "name", moved)
	n.ip("link", "set", moved, "netns", pid)
	n.ip("link", "set", link, "master", n.bridge)
	n.ip("link", "set", link, "up")
	setup := fmt.Sprintf("ip link set lo up && ip link set %s name eth0 && ip addr add %s dev eth0 && ip link set eth0 up && ip route add default via %s",
		moved, netip.PrefixFrom(node.Addr, 24), n.Gateway)
	if out, err := exec.Command("nsenter", "-t", pid, "-n", "sh", "-c", setup).CombinedOutput(); err != nil {
		n.t.Fatalf("%s: link setup: %v: %s", name, err, out)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		n.t.Fatalf("%s: release: %v\n%s", name, err, node.Output())
	}
	_ = stdin.Close()
	return node
}

// Kill ends the node's process with SIGKILL (its namespace and address go
// with it) and waits for it.
func (node *Node) Kill() {
	if node.cmd.Process != nil {
		_ = node.cmd.Process.Kill()
	}
	<-node.done
}

// Signal sends sig to the node's process.
func (node *Node) Signal(sig os.Signal) error { return node.cmd.Process.Signal(sig) }

// Done is closed when the node's process has ended; Err then says how.
func (node *Node) Done() <-chan struct{} { return node.done }

// Err is how the process ended, once Done is closed.
func (node *Node) Err() error { return node.waited }

// Output is what the node's process has written so far.
func (node *Node) Output() string { return node.out.String() }

// syncBuffer is a bytes.Buffer written by a process and read by tests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
