package multinode_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// startNATS starts the cluster's NATS server (JetStream on) on
// 127.0.0.1 with a free port, as an external cluster would be, and
// returns its client URL.
func startNATS(t *testing.T) string { return startNATSOn(t, "127.0.0.1") }

// startNATSOn is startNATS on another address of the test's.
func startNATSOn(t *testing.T, host string) string { return servertest.StartNATS(t, host) }

// node starts a Kaigi server as cluster node id in region, on the NATS
// server at natsURL and the PostgreSQL database db. With keyFrom, a data
// directory, it starts with that directory's secret.key: the nodes of a
// cluster share the key that seals the database's secrets (passcodes).
func node(t *testing.T, id, region, natsURL, db, keyFrom string) *servertest.Server {
	t.Helper()
	data := t.TempDir()
	if keyFrom != "" {
		copyKey(t, keyFrom, data)
	}
	return servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.Data = data
		c.Region = region
		c.Database = db
		c.Cluster.NodeID = id
		c.Cluster.NATS.URLs = []string{natsURL}
	}})
}

// clusterKey returns a directory holding a fresh secret.key for the
// nodes of a test cluster to share.
func clusterKey(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := auth.LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir
}

// copyKey copies the data directory from's secret.key into to.
func copyKey(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(from, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, "secret.key"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// join adds a pion participant through srv, publishing the given sources
// with synthetic media until the test ends.
func join(t *testing.T, srv *servertest.Server, opts client.Options, publish ...string) *client.Client {
	t.Helper()
	c, err := tryJoin(t, srv, opts, publish...)
	if err != nil {
		t.Fatalf("%s joins through %s: %v", opts.Name, srv.URL, err)
	}
	return c
}

func tryJoin(t *testing.T, srv *servertest.Server, opts client.Options, publish ...string) (*client.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	opts.BaseURL = srv.URL
	opts.Publish = publish
	c, err := client.Join(ctx, opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(c.Close)
	if c.Waiting() == "" { // someone waiting publishes once admitted (pumpAll)
		pumpAll(t, c, publish...)
	}
	return c, nil
}

// pumpAll pumps synthetic media on each of c's published sources.
func pumpAll(t *testing.T, c *client.Client, sources ...string) {
	t.Helper()
	for _, src := range sources {
		pump(t, c.Local(src))
	}
}

// pump sends synthetic media on a local track until the test ends.
func pump(t *testing.T, lt *client.LocalTrack) {
	t.Helper()
	cfg := client.AudioPump
	if lt.Source == "camera" || lt.Source == "screen" {
		cfg = client.VideoPump
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		lt.Pump(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// packets is how many packets c has of participant pid's source.
func packets(c *client.Client, pid, source string) uint64 {
	if rt := c.Track(pid, source); rt != nil {
		return rt.Packets()
	}
	return 0
}

// receiving waits until c has n packets more of pid's source than from.
func receiving(t *testing.T, c *client.Client, pid, source string, from, n uint64) {
	t.Helper()
	err := c.WaitFor(waitCtx(t), c.Self().Name+" receives "+pid+"'s "+source, func() bool {
		return packets(c, pid, source) >= from+n
	})
	if err != nil {
		t.Fatal(err)
	}
}

// e2eeMsg is an e2ee server message as the tests read it.
type e2eeMsg struct {
	Type    string
	Create  bool
	Epoch   uint64
	From    string
	Welcome []byte
	Kind    string
	Data    []byte
}

func e2eeMessages(c *client.Client, typ string) []e2eeMsg {
	var out []e2eeMsg
	for _, raw := range c.E2EEMessages() {
		var m e2eeMsg
		json.Unmarshal(raw, &m)
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// awaitE2EE waits until c has n messages of typ and returns the n-th.
func awaitE2EE(t *testing.T, c *client.Client, typ string, n int) e2eeMsg {
	t.Helper()
	err := c.WaitFor(waitCtx(t), typ, func() bool { return len(e2eeMessages(c, typ)) >= n })
	if err != nil {
		t.Fatal(err)
	}
	return e2eeMessages(c, typ)[n-1]
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
