package cascade

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/cluster"
)

// filtered is a node's relay messages with some dropped (lost on the
// way), and a count of those handled (dropped or not), in order.
type filtered struct {
	*cluster.Node
	drop    func(cluster.RelayMessage) bool
	handled atomic.Int64
}

func (f *filtered) HandleRelays(handle func(cluster.RelayMessage)) (func(), error) {
	return f.Node.HandleRelays(func(m cluster.RelayMessage) {
		if !f.drop(m) {
			handle(m)
		}
		f.handled.Add(1)
	})
}

// refilter gives node a new cascade whose messages pass through drop,
// with the old one's options.
func refilter(t *testing.T, n *testNode, drop func(cluster.RelayMessage) bool) *filtered {
	t.Helper()
	n.cascade.Close()
	f := &filtered{Node: n.node, drop: drop}
	c, err := New(f, n.cascade.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	n.cascade = c
	return f
}

// waits records the waits a cascade chooses before asking again.
type waits struct {
	mu  sync.Mutex
	all []time.Duration
}

func (w *waits) add(_ relayKey, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all = append(w.all, d)
}

func (w *waits) list() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.all...)
}

// bothUp reports whether the entry node's relays with the meeting's node
// are up both ways: the one it asked for (not refused), and the one the
// meeting's node asked for.
func bothUp(entry *testNode, meetingNode string) bool {
	c := entry.cascade
	c.mu.Lock()
	defer c.mu.Unlock()
	k := relayKey{"m", meetingNode}
	return c.ins[k] != nil && c.outs[k] != nil
}

// TestClusterRelayRetryWaitSetBack: an entry node (eu2) whose asks the
// meeting's node (eu1) refuses asks again after waits that double up to
// the most; once a relay has been up for Retry.SetBack and closes, the
// next ask comes after the first wait again, not the most (the clock the
// relays' ages are read on runs ahead in the test instead of the test
// waiting); one that closes sooner keeps doubling.
func TestClusterRelayRetryWaitSetBack(t *testing.T) {
	var allow atomic.Bool
	nodes := startNodes(t, map[string]bool{"eu1": true, "eu2": true}, "eu1", "eu2")
	eu1, eu2 := nodes["eu1"], nodes["eu2"]
	eu1.router.RelayOn()
	eu1.cascade.opts.Allowed = func(string, string) bool { return allow.Load() }
	// Answer is long: these relays carry nothing, so they never connect,
	// and the check after an ask would ask again (the waits doubling)
	// before the test closes them.
	eu2.cascade.opts.Retry = Retry{First: 20 * time.Millisecond, Most: 160 * time.Millisecond, Answer: 10 * time.Second, SetBack: time.Minute}
	eu2 = &testNode{node: eu2.node, router: eu2.router, cascade: eu2.cascade}
	refilter(t, eu2, func(cluster.RelayMessage) bool { return false })
	var ahead atomic.Int64
	eu2.cascade.now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	w := &waits{}
	eu2.cascade.waited = w.add
	newClient(t, eu2.router, "bob")

	if err := eu2.cascade.Exchange("m", "eu1"); err != nil {
		t.Fatal(err)
	}
	// Refused: the waits double to the most.
	await(t, 30*time.Second, "eu2's waits never reached the most while eu1 refused", func() bool {
		all := w.list()
		return len(all) > 0 && all[len(all)-1] == eu2.cascade.retry.Most
	})
	all := w.list()
	for i, d := range all {
		want := eu2.cascade.retry.First
		if i > 0 {
			want = min(2*all[i-1], eu2.cascade.retry.Most)
		}
		if d != want {
			t.Fatalf("waits %v: wait %d is %v, want %v", all, i, d, want)
		}
	}

	// Allowed: both relays come up; they stay up a minute (the clock).
	allow.Store(true)
	await(t, 30*time.Second, "eu2's relays with eu1 never came up", func() bool { return bothUp(eu2, "eu1") })
	ahead.Add(int64(time.Minute))
	n := len(w.list())
	eu1.cascade.NodeGone("eu2") // eu1 ends both relays, and tells eu2
	await(t, 10*time.Second, "eu2 never asked again after its relays closed", func() bool { return len(w.list()) > n })
	if d := w.list()[n]; d != eu2.cascade.retry.First {
		t.Fatalf("after relays up for a minute closed, eu2 waits %v before asking again, want %v (set back)", d, eu2.cascade.retry.First)
	}

	// They come back, and close at once: no set back.
	await(t, 30*time.Second, "eu2's relays with eu1 never came back", func() bool { return bothUp(eu2, "eu1") })
	n = len(w.list())
	eu1.cascade.NodeGone("eu2")
	await(t, 10*time.Second, "eu2 never asked again after its relays closed again", func() bool { return len(w.list()) > n })
	if d := w.list()[n]; d <= eu2.cascade.retry.First {
		t.Fatalf("after relays up a moment closed, eu2 waits %v, want more than %v (doubled)", d, eu2.cascade.retry.First)
	}
	await(t, 30*time.Second, "eu2's relays with eu1 never came back again", func() bool { return bothUp(eu2, "eu1") })
}

// TestClusterLostReadyAskedAgain: the meeting's node (eu1) loses an entry
// node's first "ready" (a dropped message): the entry node (eu2) asks
// again, and its publisher's media reaches eu1. A "ready" while the relay
// is up changes nothing there and costs no look-up (Allowed is not
// asked: the check that the relay is up comes first).
func TestClusterLostReadyAskedAgain(t *testing.T) {
	nodes := startNodes(t, map[string]bool{"eu1": true, "eu2": true}, "eu1", "eu2")
	eu1, eu2 := nodes["eu1"], nodes["eu2"]
	eu1.router.RelayOn()
	var looked atomic.Int64
	eu1.cascade.opts.Allowed = func(string, string) bool { looked.Add(1); return true }
	var dropped atomic.Bool
	f := refilter(t, eu1, func(m cluster.RelayMessage) bool {
		return m.Kind == cluster.RelayReady && dropped.CompareAndSwap(false, true)
	})
	eu2.cascade.retry = Retry{First: 20 * time.Millisecond, Most: 200 * time.Millisecond, Answer: 500 * time.Millisecond, SetBack: time.Second}

	ada := newClient(t, eu1.router, "ada")
	cam := newClient(t, eu2.router, "bob").publishCamera()
	if err := eu2.cascade.Exchange("m", "eu1"); err != nil {
		t.Fatal(err)
	}
	var i uint32
	await(t, 30*time.Second, "eu2's publisher never reached eu1 after its ready was lost", func() bool {
		i++
		if err := cam.write(payload(i)); err != nil {
			t.Fatal(err)
		}
		return len(ada.payloads()) > 0
	})
	if !dropped.Load() {
		t.Fatal("no ready was dropped")
	}

	// More readies while the relay is up: nothing looked up, nothing
	// replaced.
	eu1.cascade.mu.Lock()
	before := eu1.cascade.ins[relayKey{"m", "eu2"}]
	eu1.cascade.mu.Unlock()
	lookedBefore, handled := looked.Load(), f.handled.Load()
	for range 3 {
		if err := eu2.node.SendRelay("eu1", cluster.RelayMessage{Meeting: "m", Kind: cluster.RelayReady}); err != nil {
			t.Fatal(err)
		}
	}
	await(t, 10*time.Second, "eu1 never handled the readies", func() bool { return f.handled.Load() >= handled+3 })
	if n := looked.Load() - lookedBefore; n != 0 {
		t.Errorf("three readies while the relay was up cost %d look-ups of the meeting's allowed nodes, want 0", n)
	}
	eu1.cascade.mu.Lock()
	after := eu1.cascade.ins[relayKey{"m", "eu2"}]
	eu1.cascade.mu.Unlock()
	if after != before {
		t.Error("a ready while the relay was up replaced it")
	}
}
