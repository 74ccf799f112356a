package servertest

import (
	"context"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// StartNATS starts a NATS server for a test cluster (JetStream on) on
// host with a free port, as an external cluster would be, stopped when
// the test ends, and returns its client URL.
func StartNATS(t testing.TB, host string) string {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{
		ServerName:             "test-nats",
		Host:                   host,
		Port:                   -1,
		JetStream:              true,
		StoreDir:               t.TempDir(),
		NoSigs:                 true,
		NoLog:                  true,
		DisableJetStreamBanner: true,
		// A relayed client message may be as large as a socket's frame
		// (1 MiB); docs/operations.md asks for the same.
		MaxPayload: 2 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("the test's NATS server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns.ClientURL()
}

// PlaceOn makes a test cluster place the next meeting on n: the others
// are marked draining (they take no new meetings) until the returned
// function is called. Each change waits (up to 30 s) until n's view of
// the registry shows it.
func PlaceOn(t testing.TB, n *Server, others ...*Server) (undo func()) {
	t.Helper()
	set := func(on bool) {
		t.Helper()
		for _, o := range others {
			o.Cluster().SetDraining(on)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			nodes, err := n.Cluster().Nodes(ctx)
			draining := 0
			for _, info := range nodes {
				if info.Draining {
					draining++
				}
			}
			if err == nil && ((on && draining == len(others)) || (!on && draining == 0)) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the registry never showed the other nodes draining=%v: %v", on, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	set(true)
	return func() { set(false) }
}
