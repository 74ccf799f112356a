package cluster

import (
	"context"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// TestClusterRedirectTarget: the node a participant is sent to from a node
// that may not hold their meeting is the least loaded of the live nodes
// in the meeting's regions that announce a URL, are not draining and are
// not the asking node; none when there is no such node.
func TestClusterRedirectTarget(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	b := c.start("b", "eu")
	us := c.start("c", "us")
	// d is in eu and idle, but announces no URL: never a target.
	d, err := Start(context.Background(), Options{NodeID: "d", Region: "eu", Version: "test", Logger: quiet(),
		NATS: NATS{URLs: []string{c.srv.ClientURL()}, Token: c.srv.Token()}, Heartbeat: testHeartbeat, NodeTTL: testTTL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	a.participants.Store(10)
	b.participants.Store(3)
	ctx := ctxT(t)
	awaitLoads(t, a, map[string]int{"a": 10, "b": 3, "c": 0, "d": 0})
	eu := meeting.Regions{"eu"}
	target := func(from *testNode, allowed meeting.Regions, named bool) string {
		t.Helper()
		info, ok, err := from.RedirectTarget(ctx, allowed, named)
		if err != nil {
			t.Fatal(err)
		}
		if ok && info.URL != "https://"+info.ID+".example.org" {
			t.Fatalf("target %s with URL %q", info.ID, info.URL)
		}
		if !ok {
			return ""
		}
		return info.ID
	}
	if got := target(us, eu, true); got != "b" {
		t.Fatalf("from the us node to eu: %q, want b (3 participants against a's 10; d has no URL)", got)
	}
	if got := target(b, eu, true); got != "a" {
		t.Fatalf("from b to eu: %q, want a (never the asking node itself)", got)
	}
	if got := target(us, meeting.Regions{"ap"}, true); got != "" {
		t.Fatalf("to ap, where no node is: %q, want none", got)
	}
	if got := target(us, nil, false); got != "b" {
		t.Fatalf("anywhere: %q, want b", got)
	}
	b.SetDraining(true)
	await(t, 20*testTTL, "b draining in the registry", func() bool {
		nodes, err := us.Nodes(ctx)
		info, ok := find(nodes, "b")
		return err == nil && ok && info.Draining
	})
	if got := target(us, eu, true); got != "a" {
		t.Fatalf("b draining: %q, want a", got)
	}
	a.Close()
	await(t, 20*testTTL, "a gone from the registry", func() bool {
		nodes, err := us.Nodes(ctx)
		_, ok := find(nodes, "a")
		return err == nil && !ok
	})
	if got := target(us, eu, true); got != "" {
		t.Fatalf("a gone, b draining, d without a URL: %q, want none", got)
	}
}

// TestClusterRecordURL: a registry record whose URL a browser must not be
// sent to is skipped as malformed.
func TestClusterRecordURL(t *testing.T) {
	rec := func(url string) []byte {
		return []byte(`{"id":"n1","instance":"x","region":"eu","url":"` + url + `","version":"t","load":{}}`)
	}
	for _, good := range []string{"", "https://n1.example.org", "http://127.0.0.1:8080", "http://10.1.2.3"} {
		if _, ok := parseNode("n1", rec(good)); !ok {
			t.Errorf("%q: skipped", good)
		}
	}
	for _, bad := range []string{"javascript:alert(1)", "http://n1.example.org", "https://n1.example.org/path", "https://u@n1.example.org", "//n1.example.org"} {
		if _, ok := parseNode("n1", rec(bad)); ok {
			t.Errorf("%q: accepted", bad)
		}
	}
}
