package cluster

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Short timings for tests: a dead node's record expires after testTTL.
const (
	testHeartbeat = 200 * time.Millisecond
	testTTL       = 1500 * time.Millisecond
)

// testCluster is one NATS server listening on 127.0.0.1 (a random port),
// as an external cluster would be, and the nodes started against it.
type testCluster struct {
	t   *testing.T
	srv *Embedded
}

func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	srv, err := StartEmbedded(EmbeddedOptions{Name: "test", StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if srv.ClientURL() == "" || !srv.Listening() {
		t.Fatal("the test's NATS server does not listen")
	}
	return &testCluster{t: t, srv: srv}
}

// testNode is a node with a load the test sets.
type testNode struct {
	*Node
	participants atomic.Int64
	meetings     atomic.Int64
}

func (c *testCluster) start(id, region string) *testNode {
	c.t.Helper()
	tn := &testNode{}
	n, err := Start(context.Background(), Options{
		NodeID:    id,
		Region:    region,
		PublicURL: "https://" + id + ".example.org",
		Version:   "test",
		NATS:      NATS{URLs: []string{c.srv.ClientURL()}, Token: c.srv.Token()},
		Load: func() Load {
			return Load{Participants: int(tn.participants.Load()), Meetings: int(tn.meetings.Load())}
		},
		Logger:     quiet(),
		Heartbeat:  testHeartbeat,
		NodeTTL:    testTTL,
		SweepEvery: time.Hour, // the tests sweep themselves
	})
	if err != nil {
		c.t.Fatalf("start node %s: %v", id, err)
	}
	c.t.Cleanup(n.Close)
	tn.Node = n
	return tn
}

func quiet() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// await polls cond until it holds, failing the test after within.
func await(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(nodes []NodeInfo) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.ID
	}
	return out
}

func find(nodes []NodeInfo, id string) (NodeInfo, bool) {
	i := slices.IndexFunc(nodes, func(n NodeInfo) bool { return n.ID == id })
	if i < 0 {
		return NodeInfo{}, false
	}
	return nodes[i], true
}

// listeningSockets are the inodes of this process's TCP sockets in the
// LISTEN state (/proc/self/fd against /proc/self/net/tcp and tcp6).
func listeningSockets(t *testing.T) map[string]bool {
	t.Helper()
	mine := map[string]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	out := map[string]bool{}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		body, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(body), "\n")[1:] {
			f := strings.Fields(line)
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) > 9 && f[3] == "0A" && mine[f[9]] {
				out[f[9]] = true
			}
		}
	}
	return out
}
