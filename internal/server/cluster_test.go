package server_test

import (
	"testing"

	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// A server is a cluster of one: its embedded NATS server listens on no
// port, and the node is in the registry with its region and the address
// configured for it (cluster.public_url).
func TestClusterServerRegistersItself(t *testing.T) {
	const public = "https://node-1.example.org"
	s := startServer(t, func(c *config.Config, _ *signal.Options) {
		c.Region = "eu-central"
		c.Cluster.NodeID = "node-1"
		c.Cluster.PublicURL = public + "/"
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
	if len(nodes) != 1 || nodes[0].ID != "node-1" || nodes[0].Region != "eu-central" || nodes[0].URL != public {
		t.Fatalf("registry %+v; want node-1 in eu-central at %s", nodes, public)
	}
}

// A node without cluster.public_url announces no URL (public_url, shared
// by the nodes behind one name, is not this node's): it is never a
// redirect target.
func TestClusterServerWithoutPublicURLAnnouncesNone(t *testing.T) {
	s := startServer(t, func(c *config.Config, _ *signal.Options) {
		c.Cluster.NodeID = "node-1"
		c.PublicURL = "https://meet.example.org"
	})
	nodes, err := s.Cluster().Nodes(waitCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].URL != "" {
		t.Fatalf("registry %+v; want node-1 with no URL", nodes)
	}
}
