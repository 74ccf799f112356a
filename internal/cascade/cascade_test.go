package cascade

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/sfu"
)

// testNode is one node of a test cluster: its cluster membership, its SFU
// with one meeting's router, and its cascade.
type testNode struct {
	node    *cluster.Node
	router  *sfu.Router
	cascade *Cascade
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startNodes starts one NATS server and a node per ID, each hosting
// meeting "m"; allowed says which nodes meeting "m"'s media may reach.
func startNodes(t *testing.T, allowed map[string]bool, ids ...string) map[string]*testNode {
	t.Helper()
	srv, err := cluster.StartEmbedded(cluster.EmbeddedOptions{Name: "test", StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	out := make(map[string]*testNode)
	for _, id := range ids {
		n, err := cluster.Start(context.Background(), cluster.Options{
			NodeID: id, Region: "eu", PublicURL: "https://" + id + ".example.org", Version: "test",
			NATS:   cluster.NATS{URLs: []string{srv.ClientURL()}, Token: srv.Token()},
			Logger: quiet(), Heartbeat: 200 * time.Millisecond, NodeTTL: 1500 * time.Millisecond, SweepEvery: time.Hour,
		})
		if err != nil {
			t.Fatalf("start node %s: %v", id, err)
		}
		t.Cleanup(n.Close)
		s, err := sfu.New(sfu.Config{Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		tn := &testNode{node: n, router: s.NewRouter("m")}
		t.Cleanup(tn.router.Close)
		c, err := New(n, Options{
			Router: func(meeting string) *sfu.Router {
				if meeting == "m" {
					return tn.router
				}
				return nil
			},
			Allowed: func(meeting, node string) bool { return allowed[node] },
			Logger:  quiet(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		tn.cascade = c
		out[id] = tn
	}
	return out
}

// TestClusterRelaysMedia: two nodes of one NATS cluster, a publisher on
// eu1 and two subscribers on eu2. eu2 asks eu1 for the meeting's media:
// the relay is negotiated over NATS, every packet the publisher sends
// reaches both subscribers with its payload unchanged, and the relay
// goes on both nodes when eu2's last subscriber leaves. A node outside
// the meeting's allowed set (us1) asking is refused. Run inside
// scripts/isolated.sh.
func TestClusterRelaysMedia(t *testing.T) {
	nodes := startNodes(t, map[string]bool{"eu1": true, "eu2": true}, "eu1", "eu2", "us1")
	eu1, eu2, us1 := nodes["eu1"], nodes["eu2"], nodes["us1"]

	pub := newClient(t, eu1.router, "ada")
	cam := pub.publishCamera()
	subs := []*client{newClient(t, eu2.router, "bob"), newClient(t, eu2.router, "cy")}
	if err := eu2.cascade.Receive("m", "eu1"); err != nil {
		t.Fatal(err)
	}

	var warm uint32
	await(t, 30*time.Second, "eu2's subscribers never received eu1's publisher", func() bool {
		if err := cam.write(payload(1<<24 + warm)); err != nil {
			t.Fatal(err)
		}
		warm++
		for _, s := range subs {
			if len(s.payloads()) == 0 {
				return false
			}
		}
		return true
	})
	const n = 300
	sent := make(map[uint32][]byte, n)
	for i := range uint32(n) {
		sent[i] = payload(i)
		if err := cam.write(sent[i]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // a publisher's pacing
	}
	for i, s := range subs {
		await(t, 20*time.Second, "not every packet crossed", func() bool {
			got := s.payloads()
			for k := range sent {
				if got[k] == nil {
					return false
				}
			}
			return true
		})
		got := s.payloads()
		for k, p := range sent {
			if !bytes.Equal(got[k], p) {
				t.Fatalf("subscriber %d, packet %d: payload changed on the way", i, k)
			}
		}
	}
	if out, _ := eu1.cascade.Relays(); out != 1 {
		t.Fatalf("eu1 sends %d relays, want 1 (to eu2)", out)
	}
	t.Logf("%d packets reached each of %d subscribers on the other node (after %d warm-up packets)", n, len(subs), warm)

	// A node outside the meeting's allowed set asks eu1: refused, by eu1.
	us1.cascade.opts.Allowed = nil // us1 thinks it may; eu1 knows better
	if err := us1.cascade.Receive("m", "eu1"); err != nil {
		t.Fatal(err)
	}
	await(t, 10*time.Second, "us1 still waits for a relay eu1 refused", func() bool {
		_, in := us1.cascade.Relays()
		return in == 0
	})
	if out, _ := eu1.cascade.Relays(); out != 1 {
		t.Fatalf("eu1 sends %d relays after us1 asked, want only eu2's", out)
	}

	// eu2's last subscriber leaves: the relay goes on both nodes.
	eu2.router.RemovePeer("bob")
	eu2.router.RemovePeer("cy")
	await(t, 10*time.Second, "the relay stayed after eu2's last subscriber left", func() bool {
		out, _ := eu1.cascade.Relays()
		_, in := eu2.cascade.Relays()
		to, _ := eu1.router.RelayNodes()
		return out == 0 && in == 0 && len(to) == 0
	})
}

// payload is packet i's payload: a VP8 descriptor byte, the index, and
// random bytes, as an end-to-end encrypted frame is to the SFU.
func payload(i uint32) []byte {
	p := make([]byte, 5+200)
	p[0] = 0x10
	binary.BigEndian.PutUint32(p[1:], i)
	_, _ = rand.Read(p[5:])
	return p
}

// await polls cond until it holds, failing the test after within (a
// bound, not a timing).
func await(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterRelayWithAGoneNode: a relay asked of a node that never
// answers (it died) waits until the node is known to be gone, then
// closes.
func TestClusterRelayWithAGoneNode(t *testing.T) {
	nodes := startNodes(t, map[string]bool{"eu1": true, "eu2": true}, "eu1")
	eu1 := nodes["eu1"]
	newClient(t, eu1.router, "ada")
	if err := eu1.cascade.Receive("m", "eu2"); err != nil {
		t.Fatal(err)
	}
	if _, in := eu1.cascade.Relays(); in != 1 {
		t.Fatalf("%d relays waiting, want the one asked of eu2", in)
	}
	eu1.cascade.NodeGone("eu3")
	if _, in := eu1.cascade.Relays(); in != 1 {
		t.Fatal("another node's going closed the relay with eu2")
	}
	eu1.cascade.NodeGone("eu2")
	if _, in := eu1.cascade.Relays(); in != 0 {
		t.Fatal("eu2 is gone, the relay asked of it still waits")
	}
	if _, from := eu1.router.RelayNodes(); len(from) != 0 {
		t.Fatalf("the router still receives from %v", from)
	}
}
