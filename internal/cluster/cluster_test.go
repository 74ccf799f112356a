package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

func TestClusterRegistryListsNodesWithRegions(t *testing.T) {
	c := newTestCluster(t)
	c.start("a", "eu")
	c.start("b", "eu")
	c.start("c", "us")
	ctx := ctxT(t)
	nodes, err := c.start("d", "").Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(nodes), " "); got != "a b c d" {
		t.Fatalf("nodes %q, want a b c d", got)
	}
	want := map[string]string{"a": "eu", "b": "eu", "c": "us", "d": ""}
	instances := map[string]bool{}
	for _, n := range nodes {
		if n.Region != want[n.ID] {
			t.Errorf("node %s: region %q, want %q", n.ID, n.Region, want[n.ID])
		}
		if n.URL != "https://"+n.ID+".example.org" || n.Version != "test" || n.Started.IsZero() || n.Draining {
			t.Errorf("node %s: record %+v", n.ID, n)
		}
		instances[n.Instance] = true
	}
	if len(instances) != 4 {
		t.Errorf("instances %v: want four different", instances)
	}
}

func TestClusterLoadIsPublished(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	a.participants.Store(7)
	a.meetings.Store(2)
	ctx := ctxT(t)
	await(t, 20*testTTL, "a's load in the registry", func() bool {
		nodes, err := a.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := find(nodes, "a")
		return ok && n.Load.Participants == 7 && n.Load.Meetings == 2
	})
}

func TestClusterStoppedNodeDisappearsWithinTTL(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	b := c.start("b", "eu")
	crashed := c.start("c", "us")
	ctx := ctxT(t)

	// Crash c: it stops without removing its record.
	crashed.halt()
	stopped := time.Now()
	nodes, err := a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := find(nodes, "c"); !ok {
		t.Fatal("c's record is gone at once: it should stay until its TTL runs out")
	}
	await(t, 10*testTTL, "c's record expiring", func() bool {
		nodes, err := a.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, ok := find(nodes, "c")
		return !ok
	})
	t.Logf("a crashed node disappeared %v after it stopped (TTL %v, heartbeat %v)", time.Since(stopped).Round(time.Millisecond), testTTL, testHeartbeat)

	// The live ones, heartbeating, are all still there.
	nodes, err = a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(nodes), " "); got != "a b" {
		t.Fatalf("after c expired: nodes %q, want a b", got)
	}

	// A node that stops properly leaves the registry at once.
	b.Close()
	nodes, err = a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(nodes), " "); got != "a" {
		t.Fatalf("after b closed: nodes %q, want a", got)
	}
}

func TestClusterPlacementPicksLeastLoaded(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	b := c.start("b", "eu")
	us := c.start("c", "us")
	a.participants.Store(10)
	b.participants.Store(3)
	us.participants.Store(0)
	ctx := ctxT(t)
	awaitLoads(t, a, map[string]int{"a": 10, "b": 3, "c": 0})

	eu := meeting.Regions{"eu"}
	m1 := meeting.NewID()
	got, err := a.Place(ctx, m1, eu, true)
	if err != nil || got.ID != "b" {
		t.Fatalf("place in eu: %s, %v; want b (3 participants against a's 10)", got.ID, err)
	}
	got, err = a.Place(ctx, meeting.NewID(), nil, false)
	if err != nil || got.ID != "c" {
		t.Fatalf("place anywhere: %s, %v; want c (no participants)", got.ID, err)
	}
	// Once placed, a meeting stays where it is, whoever asks and however
	// the loads change.
	b.participants.Store(50)
	awaitLoads(t, a, map[string]int{"a": 10, "b": 50, "c": 0})
	for _, n := range []*testNode{a, b, us} {
		got, err := n.Place(ctx, m1, eu, true)
		if err != nil || got.ID != "b" {
			t.Fatalf("%s placing m1 again: %s, %v; want b", n.ID(), got.ID, err)
		}
	}
	// A new meeting now goes to a.
	got, err = b.Place(ctx, meeting.NewID(), eu, true)
	if err != nil || got.ID != "a" {
		t.Fatalf("place in eu after b filled up: %s, %v; want a", got.ID, err)
	}
}

// awaitLoads waits until n sees every node's participants as given.
func awaitLoads(t *testing.T, n *testNode, want map[string]int) {
	t.Helper()
	await(t, 20*testTTL, fmt.Sprintf("loads %v in the registry", want), func() bool {
		nodes, err := n.Nodes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for id, p := range want {
			if info, ok := find(nodes, id); !ok || info.Load.Participants != p {
				return false
			}
		}
		return true
	})
}

func TestClusterRacingPlacementsAgree(t *testing.T) {
	c := newTestCluster(t)
	nodes := []*testNode{c.start("a", "eu"), c.start("b", "eu"), c.start("c", "eu")}
	// Each node would place every meeting on itself: only the
	// compare-and-set on the placement makes them agree. A node that
	// does not see itself listed (its record can lapse for a moment when
	// a loaded machine delays its heartbeat past the tests' short TTL)
	// picks another, as the real choice would, rather than none.
	for _, n := range nodes {
		self := n.ID()
		n.pick = func(nodes []NodeInfo, may func(NodeInfo) bool) (NodeInfo, bool) {
			if info, ok := find(nodes, self); ok && may(info) {
				return info, true
			}
			for _, info := range nodes {
				if may(info) {
					return info, true
				}
			}
			return NodeInfo{}, false
		}
	}
	ctx := ctxT(t)
	const meetings = 20
	for i := range meetings {
		id := meeting.NewID()
		start := make(chan struct{})
		got := make([]string, len(nodes))
		var wg sync.WaitGroup
		for j, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				info, err := n.Place(ctx, id, meeting.Regions{"eu"}, true)
				if err != nil {
					t.Errorf("%s: %v", n.ID(), err)
					return
				}
				got[j] = info.ID
			}()
		}
		close(start)
		wg.Wait()
		if got[0] == "" || got[0] != got[1] || got[1] != got[2] {
			t.Fatalf("meeting %d: nodes placed it on %v; want one node", i, got)
		}
		// And the bucket says the same to a later reader.
		again, err := nodes[2].Place(ctx, id, meeting.Regions{"eu"}, true)
		if err != nil || again.ID != got[0] {
			t.Fatalf("meeting %d: placed on %s, then read as %s (%v)", i, got[0], again.ID, err)
		}
	}
}

func TestClusterDrainingNodeTakesNoNewMeetings(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	b := c.start("b", "eu")
	a.participants.Store(20)
	ctx := ctxT(t)
	awaitLoads(t, a, map[string]int{"a": 20, "b": 0})
	before := meeting.NewID()
	if got, err := a.Place(ctx, before, nil, false); err != nil || got.ID != "b" {
		t.Fatalf("before draining: %s, %v; want b", got.ID, err)
	}

	b.SetDraining(true)
	await(t, 20*testTTL, "b draining in the registry", func() bool {
		nodes, err := a.Nodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		info, ok := find(nodes, "b")
		return ok && info.Draining
	})
	for range 5 {
		if got, err := a.Place(ctx, meeting.NewID(), nil, false); err != nil || got.ID != "a" {
			t.Fatalf("b draining: a new meeting went to %s (%v); want a", got.ID, err)
		}
	}
	// The meeting already on b stays there while it drains.
	if got, err := a.Place(ctx, before, nil, false); err != nil || got.ID != "b" {
		t.Fatalf("b draining: its meeting moved to %s (%v)", got.ID, err)
	}
	// With every allowed node draining, there is nowhere to go.
	a.SetDraining(true)
	await(t, 20*testTTL, "a draining in the registry", func() bool {
		nodes, _ := a.Nodes(ctx)
		info, ok := find(nodes, "a")
		return ok && info.Draining
	})
	_, err := a.Place(ctx, meeting.NewID(), nil, false)
	if !errors.Is(err, ErrNoNode) || !strings.Contains(err.Error(), "draining") {
		t.Fatalf("all draining: %v; want ErrNoNode naming the draining nodes", err)
	}
}

func TestClusterNoAllowedNode(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	c.start("b", "")
	ctx := ctxT(t)
	_, err := a.Place(ctx, meeting.NewID(), meeting.Regions{"ap-south", "us"}, true)
	if !errors.Is(err, ErrNoNode) {
		t.Fatalf("no node in ap-south or us: %v; want ErrNoNode", err)
	}
	for _, want := range []string{"only in ap-south, us", "a in eu", "b in no region"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Regions named but none in common: nowhere.
	if _, err := a.Place(ctx, meeting.NewID(), nil, true); !errors.Is(err, ErrNoNode) || !strings.Contains(err.Error(), "in no region") {
		t.Fatalf("empty allowed set: %v; want ErrNoNode", err)
	}
	// A node without a region holds only meetings that name none.
	a.SetDraining(true)
	await(t, 20*testTTL, "a draining", func() bool {
		nodes, _ := a.Nodes(ctx)
		info, ok := find(nodes, "a")
		return ok && info.Draining
	})
	if got, err := a.Place(ctx, meeting.NewID(), nil, false); err != nil || got.ID != "b" {
		t.Fatalf("anywhere, a draining: %s, %v; want b", got.ID, err)
	}
	if _, err := a.Place(ctx, meeting.NewID(), meeting.Regions{"eu"}, true); !errors.Is(err, ErrNoNode) {
		t.Fatalf("eu only, a draining: %v; want ErrNoNode (b has no region)", err)
	}
}

func TestClusterDeadNodeLosesItsPlacements(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	a.participants.Store(5)
	dead := c.start("d", "eu")
	ctx := ctxT(t)
	awaitLoads(t, a, map[string]int{"a": 5, "d": 0})
	m1, m2 := meeting.NewID(), meeting.NewID()
	for _, m := range []meeting.ID{m1, m2} {
		if got, err := a.Place(ctx, m, nil, false); err != nil || got.ID != "d" {
			t.Fatalf("place: %s, %v; want d", got.ID, err)
		}
	}
	if removed, err := a.sweep(ctx); err != nil || removed != 0 {
		t.Fatalf("sweep with d alive removed %d (%v)", removed, err)
	}

	dead.halt()
	await(t, 10*testTTL, "d's record expiring", func() bool {
		nodes, _ := a.Nodes(ctx)
		_, ok := find(nodes, "d")
		return !ok
	})
	// The next Place moves m1 to a live node; the sweep removes m2's.
	if got, err := a.Place(ctx, m1, nil, false); err != nil || got.ID != "a" {
		t.Fatalf("m1 after d died: %s, %v; want a", got.ID, err)
	}
	if removed, err := a.sweep(ctx); err != nil || removed != 1 {
		t.Fatalf("sweep after d died removed %d (%v); want 1 (m2)", removed, err)
	}
	if _, err := a.placements.Get(ctx, string(m2)); err == nil {
		t.Fatal("m2's placement on the dead node is still there")
	}
	if _, err := a.placements.Get(ctx, string(m1)); err != nil {
		t.Fatalf("m1's placement on a was swept: %v", err)
	}
}

func TestClusterRelease(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	b := c.start("b", "eu")
	b.participants.Store(9)
	ctx := ctxT(t)
	awaitLoads(t, a, map[string]int{"a": 0, "b": 9})
	m := meeting.NewID()
	if got, err := b.Place(ctx, m, nil, false); err != nil || got.ID != "a" {
		t.Fatalf("place: %s, %v; want a", got.ID, err)
	}
	// Only the hosting node's release counts.
	if err := b.Release(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := a.placements.Get(ctx, string(m)); err != nil {
		t.Fatalf("b released a's meeting: %v", err)
	}
	if err := a.Release(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := a.placements.Get(ctx, string(m)); err == nil {
		t.Fatal("a released its meeting, but the placement is still there")
	}
	// Placed afresh afterwards: by load again.
	a.participants.Store(30)
	awaitLoads(t, a, map[string]int{"a": 30, "b": 9})
	if got, err := a.Place(ctx, m, nil, false); err != nil || got.ID != "b" {
		t.Fatalf("placed again after release: %s, %v; want b", got.ID, err)
	}
	// A node that has left (its rooms close as it stops) has nothing to
	// release: no error, and the placement stays for the sweep.
	b.Close()
	if err := b.Release(ctx, m); err != nil {
		t.Fatalf("release after close: %v", err)
	}
	if _, err := a.placements.Get(ctx, string(m)); err != nil {
		t.Fatalf("a closed node's release removed the placement: %v", err)
	}
}

func TestClusterNodeIDInUse(t *testing.T) {
	c := newTestCluster(t)
	c.start("a", "eu")
	_, err := Start(context.Background(), Options{
		NodeID: "a", NATS: NATS{URLs: []string{c.srv.ClientURL()}, Token: c.srv.Token()},
		Logger: quiet(), Heartbeat: testHeartbeat, NodeTTL: testTTL, SweepEvery: time.Hour,
	})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second node a: %v; want an error saying the ID is in use", err)
	}
}

func TestClusterRestartAfterCrashTakesItsIDBack(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	old := c.start("b", "eu")
	old.halt()
	// b comes back before its old record expired: it waits for it.
	again := c.start("b", "us")
	nodes, err := a.Nodes(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	info, ok := find(nodes, "b")
	if !ok || info.Region != "us" || info.Instance == old.instance {
		t.Fatalf("b after the restart: %+v (found %v); want the new instance, in us", info, ok)
	}
	_ = again
}

func TestClusterEmbeddedNodeListensOnNoSocket(t *testing.T) {
	before := listeningSockets(t)
	n, err := Start(context.Background(), Options{
		NodeID: "solo", Region: "eu", Version: "test",
		NATS:   NATS{StoreDir: t.TempDir()},
		Logger: quiet(), Heartbeat: testHeartbeat, NodeTTL: testTTL,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Embedded() == nil || n.Embedded().Listening() {
		t.Fatal("the node did not start an embedded server, or it listens")
	}
	for inode := range listeningSockets(t) {
		if !before[inode] {
			t.Fatalf("a new listening socket (inode %s) after the embedded node started", inode)
		}
	}
	ctx := ctxT(t)
	nodes, err := n.Nodes(ctx)
	if err != nil || strings.Join(ids(nodes), " ") != "solo" {
		t.Fatalf("nodes: %v, %v; want solo", ids(nodes), err)
	}
	if got, err := n.Place(ctx, meeting.NewID(), meeting.Regions{"eu"}, true); err != nil || got.ID != "solo" {
		t.Fatalf("place: %s, %v", got.ID, err)
	}

	// The check sees a listening embedded server (so it can fail).
	srv, err := StartEmbedded(EmbeddedOptions{Name: "listening", StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	after := listeningSockets(t)
	fresh := 0
	for inode := range after {
		if !before[inode] {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d new listening sockets with a listening embedded server; want 1", fresh)
	}
}

// BenchmarkClusterEmbeddedStart measures what the cluster adds to a
// server's start: an embedded NATS server with JetStream in a fresh
// store, the buckets, and the first registration.
func BenchmarkClusterEmbeddedStart(b *testing.B) {
	for b.Loop() {
		n, err := Start(context.Background(), Options{
			NodeID: "bench", Region: "eu", Version: "test",
			NATS:   NATS{StoreDir: b.TempDir()},
			Logger: quiet(),
		})
		if err != nil {
			b.Fatal(err)
		}
		n.Close()
	}
}
