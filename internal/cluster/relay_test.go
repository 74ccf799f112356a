package cluster

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// relayPermissions are what node id needs on NATS besides nodePermissions
// for meetings that span nodes, as docs/operations.md gives them: send
// relayed joins, member messages and media relay messages to any node and
// hear only its own, announce and hear ended accounts, and answer
// requests.
func relayPermissions(id string) *server.Permissions {
	p := &server.Permissions{
		Publish: &server.SubjectPermission{Allow: append(append([]string(nil), nodePermissions.Publish.Allow...),
			"kaigi.node.*.join", "kaigi.node.*.member.*", "kaigi.node.*.relay", AccountsEndedSubject)},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>",
			"kaigi.node." + id + ".join", "kaigi.node." + id + ".member.*", RelaySubject(id), AccountsEndedSubject}},
		Response: &server.ResponsePermission{MaxMsgs: 1, Expires: time.Minute},
	}
	return p
}

// TestClusterRelayPermissions: two nodes, each a NATS user with the
// permissions docs/operations.md lists. A relayed join goes to the other
// node and is answered; member messages (data, close, gone, media) go
// both ways in order; media relay messages go both ways; an ended account
// reaches both. A node cannot listen to the other's subjects.
func TestClusterRelayPermissions(t *testing.T) {
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
		Users: []*server.User{
			{Username: "eu1", Password: "pw1", Permissions: relayPermissions("eu1")},
			{Username: "eu2", Password: "pw2", Permissions: relayPermissions("eu2")},
		},
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
	start := func(id, pw string) *Node {
		n, err := Start(context.Background(), Options{
			NodeID: id, Region: "eu", NATS: NATS{URLs: []string{"nats://" + id + ":" + pw + "@" + ns.Addr().String()}}, Logger: quiet(),
			Heartbeat: testHeartbeat, NodeTTL: testTTL, SweepEvery: time.Hour,
		})
		if err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		t.Cleanup(n.Close)
		return n
	}
	eu1, eu2 := start("eu1", "pw1"), start("eu2", "pw2")
	ctx := ctxT(t)

	stop, err := eu1.HandleJoins(func(data []byte, respond func([]byte)) {
		go respond(append([]byte("joined "), data...))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if got, err := eu2.Request(ctx, "eu1", []byte("cy")); err != nil || string(got) != "joined cy" {
		t.Fatalf("relayed join: %q, %v", got, err)
	}
	if _, err := eu2.Request(ctx, "nobody", []byte("cy")); !errors.Is(err, ErrNodeUnreachable) {
		t.Fatalf("a join to a node that is not there: %v, want ErrNodeUnreachable", err)
	}

	member := NewMemberID()
	if !ValidMemberID(member) || ValidMemberID(member+"0") || ValidMemberID(strings.ToUpper(member)) {
		t.Fatalf("member ID %q", member)
	}
	type got struct {
		mu   sync.Mutex
		msgs []Message
	}
	var at1, at2 got
	collect := func(g *got) func(Message) {
		return func(m Message) { g.mu.Lock(); g.msgs = append(g.msgs, m); g.mu.Unlock() }
	}
	unsub1, err := eu1.Subscribe(member, collect(&at1))
	if err != nil {
		t.Fatal(err)
	}
	defer unsub1()
	unsub2, err := eu2.Subscribe(member, collect(&at2))
	if err != nil {
		t.Fatal(err)
	}
	defer unsub2()
	// As a relay does (a reply after subscribing), make sure each
	// subscription reached the server before the other node publishes.
	eu1.nc.Flush()
	eu2.nc.Flush()
	for i := range 50 {
		eu2.Publish("eu1", member, Message{Data: []byte{'a' + byte(i%26)}})
	}
	eu2.Publish("eu1", member, Message{Gone: true})
	eu1.Publish("eu2", member, Message{Data: []byte(`{"type":"closed"}`)})
	eu1.Publish("eu2", member, Message{Media: true, Data: []byte(`{"op":"open"}`)})
	eu1.Publish("eu2", member, Message{Close: 1001})
	// A bound, not a timing: a loaded CI machine has taken over 5 s.
	await(t, 20*time.Second, "member messages both ways", func() bool {
		at1.mu.Lock()
		defer at1.mu.Unlock()
		at2.mu.Lock()
		defer at2.mu.Unlock()
		return len(at1.msgs) == 51 && len(at2.msgs) == 3
	})
	for i, m := range at1.msgs[:50] {
		if string(m.Data) != string([]byte{'a' + byte(i%26)}) || m.Gone || m.Close != 0 {
			t.Fatalf("message %d at eu1: %+v (out of order?)", i, m)
		}
	}
	if m := at1.msgs[50]; !m.Gone || len(m.Data) != 0 {
		t.Fatalf("gone at eu1: %+v", m)
	}
	if m := at2.msgs[2]; m.Close != 1001 || string(at2.msgs[0].Data) != `{"type":"closed"}` || at2.msgs[0].Media {
		t.Fatalf("close at eu2: %+v", at2.msgs)
	}
	if m := at2.msgs[1]; !m.Media || string(m.Data) != `{"op":"open"}` {
		t.Fatalf("media message at eu2: %+v", m)
	}

	// Media relay messages, each way.
	for _, pair := range [][2]*Node{{eu1, eu2}, {eu2, eu1}} {
		from, to := pair[0], pair[1]
		got := make(chan RelayMessage, 1)
		stop, err := to.HandleRelays(func(m RelayMessage) { got <- m })
		if err != nil {
			t.Fatal(err)
		}
		if err := from.SendRelay(to.ID(), RelayMessage{Meeting: "m", Kind: RelayReady}); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m.From != from.ID() || m.Kind != RelayReady || m.Meeting != "m" {
				t.Fatalf("relay message at %s: %+v", to.ID(), m)
			}
		case <-ctx.Done():
			t.Fatalf("no relay message from %s reached %s", from.ID(), to.ID())
		}
		stop()
	}

	var ended sync.WaitGroup
	ended.Add(2)
	for _, n := range []*Node{eu1, eu2} {
		stop, err := n.HandleBroadcasts(AccountsEndedSubject, func(data []byte) {
			if string(data) == "u-1" {
				ended.Done()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	eu1.Broadcast(AccountsEndedSubject, []byte("u-1"))
	done := make(chan struct{})
	go func() { ended.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the ended account did not reach both nodes")
	}

	// eu2's user may not listen to eu1's members.
	denied := make(chan error, 1)
	nc, err := nats.Connect("nats://eu2:pw2@"+ns.Addr().String(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case denied <- err:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Subscribe(MemberSubject("eu1", member), func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	select {
	case err := <-denied:
		if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Fatalf("eu2 listening to eu1's member: %v, want a permissions violation", err)
		}
	case <-ctx.Done():
		t.Fatal("eu2's user listened to eu1's member subject")
	}
}

// TestClusterWatchGone: a node watching the registry is told, once, of a
// node that crashed (its record expired) and of one that left; not of
// itself or of nodes still up, however often their records are rewritten
// while it lists them. Every step awaits the watcher's listings (bounds
// generous for a loaded machine), none a time.
func TestClusterWatchGone(t *testing.T) {
	c := newTestCluster(t)
	a, b, d := c.start("a", "eu"), c.start("b", "eu"), c.start("d", "eu")
	var mu sync.Mutex
	var gone []string
	var listings [][]string
	a.watched = func(nodes []NodeInfo) { mu.Lock(); listings = append(listings, ids(nodes)); mu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.WatchGone(ctx, func(id string) { mu.Lock(); gone = append(gone, id); mu.Unlock() })
	}()
	defer func() { cancel(); <-done }()
	state := func() ([]string, int) {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(gone), len(listings)
	}
	// A node is reported only if the watcher saw it: b is halted once a
	// listing holds all three (the watcher's first comes as it starts).
	await(t, 30*time.Second, "a listing of a, b and d", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(listings) > 0 && slices.Equal(listings[len(listings)-1], []string{"a", "b", "d"})
	})
	crashed := time.Now()
	b.Halt()
	await(t, 30*time.Second, "b reported gone", func() bool { g, _ := state(); return len(g) > 0 })
	t.Logf("a crashed node was reported gone %v after it stopped (TTL %v, heartbeat %v)", time.Since(crashed).Round(time.Millisecond), testTTL, testHeartbeat)
	if g, _ := state(); !slices.Equal(g, []string{"b"}) {
		t.Fatalf("gone %v, want [b]", g)
	}
	d.Close()
	await(t, 30*time.Second, "d reported gone", func() bool { g, _ := state(); return len(g) > 1 })
	// Reported once: nothing more over the next listings (a and its
	// rewritten record listed each time).
	_, after := state()
	await(t, 30*time.Second, "five more listings", func() bool { _, l := state(); return l >= after+5 })
	if g, _ := state(); !slices.Equal(g, []string{"b", "d"}) {
		t.Fatalf("gone %v, want [b d]", g)
	}
}

// BenchmarkClusterPlace is what placing costs each join on a node with
// the embedded NATS server (a cluster of one): the placement read, the
// registry listed, and for a new meeting the claim.
func BenchmarkClusterPlace(b *testing.B) {
	n, err := Start(context.Background(), Options{
		NodeID: "bench", Region: "eu", Version: "test",
		NATS:   NATS{StoreDir: b.TempDir()},
		Logger: quiet(),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	b.Run("existing", func(b *testing.B) {
		id := meeting.NewID()
		for b.Loop() {
			if _, err := n.Place(ctx, id, nil, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			if _, err := n.Place(ctx, meeting.NewID(), nil, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestClusterClaim: a node claims a meeting placed nowhere (it is then
// placed there for everyone), keeps its own claim, and cannot claim one
// placed on another node until that node releases it.
func TestClusterClaim(t *testing.T) {
	c := newTestCluster(t)
	a, b := c.start("a", "eu"), c.start("b", "eu")
	ctx := ctxT(t)
	id := meeting.NewID()
	if err := a.Claim(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Place(ctx, id, nil, false); err != nil || got.ID != "a" {
		t.Fatalf("after a's claim, placed on %q (%v), want a", got.ID, err)
	}
	if err := a.Claim(ctx, id); err != nil {
		t.Fatalf("a claims its own placement again: %v", err)
	}
	if err := b.Claim(ctx, id); !errors.Is(err, ErrPlacedElsewhere) {
		t.Fatalf("b claims a's meeting: %v, want ErrPlacedElsewhere", err)
	}
	if err := a.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.Claim(ctx, id); err != nil {
		t.Fatalf("b claims the released meeting: %v", err)
	}
	if got, err := a.Place(ctx, id, nil, false); err != nil || got.ID != "b" {
		t.Fatalf("after b's claim, placed on %q (%v), want b", got.ID, err)
	}
}
