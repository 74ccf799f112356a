package multinode_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/e2ee/e2eetest"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// placeOn makes the cluster place the next meeting on n: the other nodes
// are marked draining (they take no new meetings) until the returned
// function is called, once every node sees it.
func placeOn(t *testing.T, n *servertest.Server, others ...*servertest.Server) (undo func()) {
	t.Helper()
	return servertest.PlaceOn(t, n, others...)
}

// waitUntil polls cond (state in another node's NATS registry) until it
// holds or ctx ends.
func waitUntil(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// joinRequests counts the relayed joins any node is sent.
func joinRequests(t *testing.T, natsURL string) *atomic.Int64 {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var n atomic.Int64
	if _, err := nc.Subscribe("kaigi.node.*.join", func(*nats.Msg) { n.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return &n
}

// TestClusterMeetingSpansNodes: two nodes in one region on one NATS and
// one PostgreSQL. The meeting is placed on eu1; Ada joins through eu1,
// Cy through eu2, which relays him there. Both receive each other's audio
// and video (the media goes between each client and the SFU of the node
// it reached, and between the nodes), and end-to-end encryption's delivery crosses the relay
// both ways: Ada's welcome for Cy, Cy's chat message to Ada.
func TestClusterMeetingSpansNodes(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	joins := joinRequests(t, natsURL)
	set := servertest.OpenSettings()
	set.E2EE = true
	m := eu1.Admin(t).NewMeeting(t, set)

	undo := placeOn(t, eu1, eu2)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada", KeyPackage: e2eetest.KeyPackage("kp-ada")}, "microphone", "camera")
	undo()
	if j := awaitE2EE(t, ada, "e2ee_job", 1); !j.Create {
		t.Fatalf("Ada's first job %+v, want create", j)
	}
	cy := join(t, eu2, client.Options{Meeting: m.ID, Name: "Cy", KeyPackage: e2eetest.KeyPackage("kp-cy")}, "microphone", "camera")
	if err := waitUntil(waitCtx(t), func() bool { return joins.Load() >= 1 }); err != nil {
		t.Fatal("Cy's join was not relayed")
	}
	if info, err := eu2.Cluster().Place(context.Background(), meeting.ID(m.ID), nil, false); err != nil || info.ID != "eu1" {
		t.Fatalf("the meeting is placed on %q (%v), want eu1", info.ID, err)
	}
	if st := eu2.Signal().Stats(); st.Meetings != 0 || st.Connections != 1 {
		t.Fatalf("eu2 holds %d meetings and %d sockets; it should only relay Cy's", st.Meetings, st.Connections)
	}
	if st := eu1.Signal().Stats(); st.Meetings != 1 || st.Participants != 2 || st.Connections != 1 {
		t.Fatalf("eu1 holds %d meetings with %d participants and %d sockets, want 1 with Ada and Cy, Ada's socket", st.Meetings, st.Participants, st.Connections)
	}
	adaID, cyID := ada.Self().ID, cy.Self().ID
	if err := cy.WaitFor(waitCtx(t), "Ada in Cy's roster", func() bool { return len(cy.Roster()) == 2 }); err != nil {
		t.Fatal(err)
	}

	// Media, each way: counted from now.
	for _, src := range []string{"microphone", "camera"} {
		receiving(t, ada, cyID, src, 0, 100)
		receiving(t, cy, adaID, src, 0, 100)
	}
	// Cy's media is with eu2, Ada's with eu1 (TestClusterMediaCascades):
	// each node forwards the other's tracks to its own member.
	if fw := eu2.SFU().Stats().ForwardedPackets; fw == 0 {
		t.Fatal("eu2's SFU forwarded nothing")
	}
	if fw := eu1.SFU().Stats().ForwardedPackets; fw == 0 {
		t.Fatal("eu1's SFU forwarded nothing")
	}

	// End-to-end encryption's delivery, across the relay.
	j := awaitE2EE(t, ada, "e2ee_job", 2)
	if len(e2eeMessages(ada, "e2ee_job")) != 2 {
		t.Fatal("Ada was not asked to add Cy")
	}
	ada.Control("e2ee_commit", map[string]any{"epoch": j.Epoch, "commit": []byte("c1"), "welcome": []byte("welcome-cy")})
	if w := awaitE2EE(t, cy, "e2ee_welcome", 1); string(w.Welcome) != "welcome-cy" || w.Epoch != 1 {
		t.Fatalf("Cy's welcome %+v", w)
	}
	cy.Control("e2ee_message", map[string]any{"epoch": 1, "kind": "chat", "data": []byte("hello from eu2")})
	if msg := awaitE2EE(t, ada, "e2ee_message", 1); msg.From != cyID || string(msg.Data) != "hello from eu2" || msg.Kind != "chat" {
		t.Fatalf("Ada got %+v, want Cy's chat message", msg)
	}

	if n := joins.Load(); n != 1 {
		t.Fatalf("%d relayed joins, want Cy's one", n)
	}

	// Cy leaves: his member on eu1 goes at once.
	cy.Leave()
	if err := ada.WaitFor(waitCtx(t), "Cy gone from Ada's roster", func() bool { return len(ada.Roster()) == 1 }); err != nil {
		t.Fatal(err)
	}
}

// TestClusterRelayStaysInRegions: a meeting that may be held only in "eu"
// is placed on the "us" node (placed while it allowed anywhere). Someone
// reaching the us node is refused there, as on a single node, and nothing
// is relayed; someone reaching the eu node is not relayed to the us node
// either: the meeting is placed again, on the eu node, and held there.
func TestClusterRelayStaysInRegions(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu := node(t, "eu1", "eu", natsURL, db, key)
	us := node(t, "us1", "us", natsURL, db, key)
	joins := joinRequests(t, natsURL)
	set := servertest.OpenSettings()
	regions := meeting.Regions{"eu"}
	set.Regions = &regions
	m := eu.Admin(t).NewMeeting(t, set)

	undo := placeOn(t, us, eu)
	if info, err := us.Cluster().Place(context.Background(), meeting.ID(m.ID), nil, false); err != nil || info.ID != "us1" {
		t.Fatalf("placed on %q (%v), want us1", info.ID, err)
	}
	undo()

	_, err := tryJoin(t, us, client.Options{Meeting: m.ID, Name: "Una"})
	var refused *client.Refused
	if !errors.As(err, &refused) || refused.Code != "region_not_allowed" {
		t.Fatalf("Una through the us node: %v; want refused region_not_allowed", err)
	}
	eve := join(t, eu, client.Options{Meeting: m.ID, Name: "Eve"})
	if eve.Self().ID == "" {
		t.Fatal("Eve is not in the meeting")
	}
	if n := joins.Load(); n != 0 {
		t.Fatalf("%d joins were relayed; the meeting's signalling must not reach the us node", n)
	}
	if st := us.Signal().Stats(); st.Meetings != 0 {
		t.Fatalf("the us node holds %d meetings", st.Meetings)
	}
	if info, err := eu.Cluster().Place(context.Background(), meeting.ID(m.ID), regions, true); err != nil || info.ID != "eu1" {
		t.Fatalf("the meeting is placed on %q (%v), want eu1", info.ID, err)
	}
}

// TestClusterDrainingNodeRelaysNoNewcomers: a node that drains (it stops
// soon) relays nobody new to a meeting on another node, as it lets nobody
// new into its own; someone coming back (a resume) still gets through.
func TestClusterDrainingNodeRelaysNoNewcomers(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	m := eu1.Admin(t).NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, eu2)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"})
	undo()
	cy := join(t, eu2, client.Options{Meeting: m.ID, Name: "Cy"})
	cyID, token := cy.Self().ID, cy.ResumeToken()
	cy.Drop()
	waitFor(t, ada, "Cy reconnecting", func() bool { return participant(ada, cyID).Connection == "reconnecting" })
	eve := join(t, eu2, client.Options{Meeting: m.ID, Name: "Eve"}) // told when eu2 drains

	ctx, cancel := context.WithCancel(context.Background())
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		eu2.Signal().Drain(ctx, time.Minute)
	}()
	defer func() { cancel(); <-drained }()
	waitFor(t, eve, "eu2 draining", func() bool { _, ok := eve.Draining(); return ok })
	_, err := tryJoin(t, eu2, client.Options{Meeting: m.ID, Name: "Dee"})
	var refused *client.Refused
	if !errors.As(err, &refused) || refused.Code != "server_draining" {
		t.Fatalf("Dee through the draining eu2: %v; want refused server_draining", err)
	}
	cy2 := join(t, eu2, client.Options{Meeting: m.ID, Name: "Cy", Resume: token})
	if !cy2.Resumed() || cy2.Self().ID != cyID {
		t.Fatalf("Cy came back through the draining eu2 as %+v (resumed %v), want %s", cy2.Self(), cy2.Resumed(), cyID)
	}
	if n := len(ada.Roster()); n != 3 {
		t.Fatalf("Ada's roster has %d people, want Ada, Cy and Eve (Dee never got in)", n)
	}
}
