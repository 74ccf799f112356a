package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats-server/v2/server"
)

// nodePermissions are the least a node needs on NATS, as
// docs/operations.md gives them for a cluster's kaigi user.
var nodePermissions = &server.Permissions{
	Publish: &server.SubjectPermission{Allow: []string{
		"$JS.API.INFO",
		"$JS.API.STREAM.INFO.KV_kaigi_nodes", "$JS.API.STREAM.INFO.KV_kaigi_placements",
		"$JS.API.STREAM.CREATE.KV_kaigi_nodes", "$JS.API.STREAM.CREATE.KV_kaigi_placements",
		"$JS.API.STREAM.UPDATE.KV_kaigi_nodes", "$JS.API.STREAM.UPDATE.KV_kaigi_placements",
		"$JS.API.CONSUMER.CREATE.KV_kaigi_nodes.>", "$JS.API.CONSUMER.CREATE.KV_kaigi_placements.>",
		"$JS.API.CONSUMER.DELETE.KV_kaigi_nodes.>", "$JS.API.CONSUMER.DELETE.KV_kaigi_placements.>",
		"$JS.API.DIRECT.GET.KV_kaigi_nodes.>", "$JS.API.DIRECT.GET.KV_kaigi_placements.>",
		"$KV.kaigi_nodes.>", "$KV.kaigi_placements.>",
		"$JS.FC.>",
	}},
	Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
}

// Nodes whose NATS user has only nodePermissions register, heartbeat,
// place, release and sweep: the list in docs/operations.md is enough.
func TestClusterLeastPermissions(t *testing.T) {
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
		Users: []*server.User{{Username: "kaigi", Password: "node-password", Permissions: nodePermissions}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.SetLoggerV2(natsLogger{quiet()}, false, false, false)
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	url := "nats://kaigi:node-password@" + ns.Addr().String()
	start := func(id string) *testNode {
		tn := &testNode{}
		n, err := Start(context.Background(), Options{
			NodeID: id, Region: "eu", NATS: NATS{URLs: []string{url}}, Logger: quiet(),
			Load:      func() Load { return Load{Participants: int(tn.participants.Load())} },
			Heartbeat: testHeartbeat, NodeTTL: testTTL, SweepEvery: time.Hour,
		})
		if err != nil {
			t.Fatalf("start %s with the least permissions: %v", id, err)
		}
		t.Cleanup(n.Close)
		tn.Node = n
		return tn
	}
	a, b := start("a"), start("b")
	a.participants.Store(4)
	awaitLoads(t, b, map[string]int{"a": 4, "b": 0}) // heartbeats (Update) work
	ctx := ctxT(t)
	m := meeting.NewID()
	if got, err := a.Place(ctx, m, meeting.Regions{"eu"}, true); err != nil || got.ID != "b" {
		t.Fatalf("place: %s, %v", got.ID, err)
	}
	if err := b.Release(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := a.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	b.Close()
	nodes, err := a.Nodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("after b left: %v, %v", ids(nodes), err)
	}
}
