package server_test

import (
	"testing"

	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// A server is a cluster of one: its embedded NATS server listens on no
// port, and the node is in the registry with its region and address.
func TestClusterServerRegistersItself(t *testing.T) {
	s := startServer(t, func(c *config.Config, _ *signal.Options) {
		c.Region = "eu-central"
		c.Cluster.NodeID = "node-1"
	})
	node := s.Cluster()
	if node == nil || node.Embedded() == nil {
		t.Fatal("the server runs no embedded NATS server")
	}
	if node.Embedded().Listening() {
		t.Fatal("the embedded NATS server listens on a port nobody configured")
	}
	nodes, err := node.Nodes(waitCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].ID != "node-1" || nodes[0].Region != "eu-central" || nodes[0].URL != s.URL {
		t.Fatalf("registry %+v; want node-1 in eu-central at %s", nodes, s.URL)
	}
}
