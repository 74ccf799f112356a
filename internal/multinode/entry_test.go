package multinode_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// nodeWith is node with signalling options of the test's.
func nodeWith(t *testing.T, id, region, natsURL, db, keyFrom string, sig func(*signal.Options)) *servertest.Server {
	t.Helper()
	data := t.TempDir()
	copyKey(t, keyFrom, data)
	return servertest.Start(t, servertest.Options{Signal: sig, Config: func(c *config.Config) {
		c.Data = data
		c.Region = region
		c.Database = db
		c.Cluster.NodeID = id
		c.Cluster.NATS.URLs = []string{natsURL}
	}})
}

// relayWatch listens to node's relay subject, as a node user could.
func relayWatch(t *testing.T, natsURL, node string) (*nats.Conn, chan cluster.RelayMessage) {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	got := make(chan cluster.RelayMessage, 64)
	if _, err := nc.Subscribe(cluster.RelaySubject(node), func(msg *nats.Msg) {
		var rm cluster.RelayMessage
		if jsonUnmarshal(msg.Data, &rm) == nil {
			select {
			case got <- rm:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return nc, got
}

// askRelay sends to the meeting's node a relay message of kind in from's
// name, about relay id.
func askRelay(t *testing.T, nc *nats.Conn, meetingNode, from, meetingID, kind, id string) {
	t.Helper()
	b, _ := json.Marshal(cluster.RelayMessage{Meeting: meetingID, From: from, Kind: kind, Relay: id})
	if err := nc.Publish(cluster.RelaySubject(meetingNode), b); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// refusesWant asks meetingNode, in from's name, for the meeting's media,
// and expects closed_out for that relay and nothing else about it.
func refusesWant(t *testing.T, natsURL, meetingNode, from, meetingID string) {
	t.Helper()
	nc, got := relayWatch(t, natsURL, from)
	askRelay(t, nc, meetingNode, from, meetingID, cluster.RelayWant, "feedfacefeedface")
	ctx := waitCtx(t)
	for {
		select {
		case rm := <-got:
			if rm.Relay != "feedfacefeedface" || rm.Meeting != meetingID {
				continue // news of an older relay
			}
			if rm.Kind != cluster.RelayClosedOut {
				t.Fatalf("%s answered %s's want with %s, want closed_out", meetingNode, from, rm.Kind)
			}
			return
		case <-ctx.Done():
			t.Fatalf("%s never answered %s's want", meetingNode, from)
		}
	}
}

// closedForRegion waits until c's socket closed with region_not_allowed.
func closedForRegion(t *testing.T, c *client.Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-waitCtx(t).Done():
		t.Fatalf("%s is still in the meeting through a node outside its regions", c.Self().Name)
	}
	if r := c.Refusal(); r == nil || r.Code != "region_not_allowed" {
		t.Fatalf("%s's socket closed with refusal %+v (closed %q), want region_not_allowed", c.Self().Name, r, c.ClosedReason())
	}
}

// noEntryMedia waits until entry holds no router for meetings held
// elsewhere and the meeting's node relays the meeting with no node.
func noEntryMedia(t *testing.T, entry, meetingNode *servertest.Server, meetingID string) {
	t.Helper()
	if err := waitUntil(waitCtx(t), func() bool {
		to, from := meetingNode.Signal().RelayNodes(meetingID)
		return entry.Signal().EntryRouters() == 0 && len(to)+len(from) == 0
	}); err != nil {
		to, from := meetingNode.Signal().RelayNodes(meetingID)
		t.Fatalf("%s holds %d routers, %s relays to %v and from %v: %v", entry.Cluster().ID(), entry.Signal().EntryRouters(),
			meetingNode.Cluster().ID(), to, from, err)
	}
}

// storedRegions waits until the store says the meeting's regions are want.
func storedRegions(t *testing.T, admin *servertest.Account, id string, want ...string) {
	t.Helper()
	if err := waitUntil(waitCtx(t), func() bool {
		var m servertest.Meeting
		admin.Do(t, "GET", "/api/meetings/"+id, nil, &m)
		return m.Settings.Regions != nil && slices.Equal([]string(*m.Settings.Regions), want)
	}); err != nil {
		t.Fatalf("the meeting's regions never became %v: %v", want, err)
	}
}

// TestClusterRegionChangeEndsRelayedMedia: a meeting held on eu1, allowed
// in eu and us, with Bo's socket (and media) on us1. The host narrows its
// regions to eu from inside the meeting: eu1 closes Bo's socket with
// region_not_allowed (naming a node in eu to go to, when one announces a
// URL), us1's router for the meeting and the relays with it go, and a
// relay asked for again in us1's name is refused. The regions widen again and Cy comes in through us1;
// then the meeting's owner narrows them through the API on eu2, a node
// that does not hold the meeting: the same happens to Cy.
func TestClusterRegionChangeEndsRelayedMedia(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	us1 := node(t, "us1", "us", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	admin := eu1.Admin(t)
	in := func(regions ...string) *meeting.Settings {
		set := servertest.OpenSettings()
		r := meeting.Regions(regions)
		set.Regions = &r
		return set
	}
	m := admin.NewMeeting(t, in("eu", "us"))

	undo := placeOn(t, eu1, us1, eu2)
	host := join(t, eu1, client.Options{Meeting: m.ID, Name: "Host", Cookie: admin.Cookie()}, "microphone")
	undo()
	hostID := host.Self().ID
	bo := join(t, us1, client.Options{Meeting: m.ID, Name: "Bo"})
	receiving(t, bo, hostID, "microphone", 0, 50)
	if n := us1.Signal().EntryRouters(); n != 1 {
		t.Fatalf("us1 holds %d routers for the meeting, want 1", n)
	}

	// From inside the meeting, on its node.
	if err := host.Control("settings", map[string]any{"settings": in("eu")}); err != nil {
		t.Fatal(err)
	}
	closedForRegion(t, bo)
	noEntryMedia(t, us1, eu1, m.ID)
	storedRegions(t, admin, m.ID, "eu")
	refusesWant(t, natsURL, "eu1", "us1", m.ID)
	if host.Self().ID == "" || len(host.Errors()) != 0 {
		t.Fatalf("the host's meeting was disturbed: errors %v", host.Errors())
	}

	// Widened again, then narrowed through the API on another node.
	if err := host.Control("settings", map[string]any{"settings": in("eu", "us")}); err != nil {
		t.Fatal(err)
	}
	storedRegions(t, admin, m.ID, "eu", "us")
	cy := join(t, us1, client.Options{Meeting: m.ID, Name: "Cy"})
	receiving(t, cy, hostID, "microphone", 0, 50)
	if code := doAt(t, admin, eu2, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": in("eu")}, nil); code != http.StatusOK {
		t.Fatalf("PATCH the meeting's regions through eu2: %d", code)
	}
	closedForRegion(t, cy)
	noEntryMedia(t, us1, eu1, m.ID)
	refusesWant(t, natsURL, "eu1", "us1", m.ID)
	select {
	case <-host.Done():
		t.Fatal("the host's socket closed")
	default:
	}
	if _, err := tryJoin(t, us1, client.Options{Meeting: m.ID, Name: "Una"}); err == nil {
		t.Fatal("Una joined through us1 after the meeting was narrowed to eu")
	}
}

// TestClusterRelayOnlyToNodesWithMembers: eu2 is in the meeting's
// regions but holds none of its members. A "want" in eu2's name is
// refused (closed_out) and a "ready" gets no "want" back; once Bo is in
// through eu2 the relays are up, and once he has left a "want" is refused
// again.
func TestClusterRelayOnlyToNodesWithMembers(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	m := eu1.Admin(t).NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, eu2)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"}, "microphone")
	undo()

	refusesWant(t, natsURL, "eu1", "eu2", m.ID)
	// A ready, then a want: eu1 handles them in order, so by the time
	// the want's refusal comes, the ready was handled; it asked nothing.
	nc, got := relayWatch(t, natsURL, "eu2")
	askRelay(t, nc, "eu1", "eu2", m.ID, cluster.RelayReady, "")
	askRelay(t, nc, "eu1", "eu2", m.ID, cluster.RelayWant, "0123456701234567")
	ctx := waitCtx(t)
	for done := false; !done; {
		select {
		case rm := <-got:
			if rm.Kind == cluster.RelayWant {
				t.Fatalf("eu1 asked eu2 for its media on a ready from a node with no member: %+v", rm)
			}
			done = rm.Kind == cluster.RelayClosedOut && rm.Relay == "0123456701234567"
		case <-ctx.Done():
			t.Fatal("eu1 never answered eu2's want")
		}
	}
	if to, from := eu1.Signal().RelayNodes(m.ID); len(to)+len(from) != 0 {
		t.Fatalf("eu1 relays to %v and from %v with nobody on eu2", to, from)
	}

	bo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo"})
	receiving(t, bo, ada.Self().ID, "microphone", 0, 50)
	bo.Leave()
	noEntryMedia(t, eu2, eu1, m.ID)
	refusesWant(t, natsURL, "eu1", "eu2", m.ID)
}

// TestClusterRemovalClosesEntryPeer: Bo, Di and Flo are in a meeting held
// on eu1 through eu2, where their peers are. The host removes Bo: his
// peer on eu2 closes and no more of Ada's media reaches him, while Di
// goes on receiving. The host removes Flo, and eu2 misses eu1's close (as
// after a lost NATS message): eu2 no longer hears from eu1 about her, so
// it ends her socket and peer all the same, and no more media reaches her.
func TestClusterRemovalClosesEntryPeer(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	var lose atomic.Bool
	const lease = time.Second
	eu1 := nodeWith(t, "eu1", "eu", natsURL, db, key, func(o *signal.Options) { o.EntryLease = lease })
	eu2 := nodeWith(t, "eu2", "eu", natsURL, db, key, func(o *signal.Options) {
		o.EntryLease = lease
		o.LoseClose = func() bool { return lose.Load() }
	})
	admin := eu1.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, eu2)
	host := join(t, eu1, client.Options{Meeting: m.ID, Name: "Host", Cookie: admin.Cookie()})
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"}, "microphone")
	undo()
	adaID := ada.Self().ID
	bo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo"})
	di := join(t, eu2, client.Options{Meeting: m.ID, Name: "Di"})
	flo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Flo"})
	for _, c := range []*client.Client{bo, di, flo} {
		receiving(t, c, adaID, "microphone", 0, 50)
	}

	removed := func(c *client.Client) {
		t.Helper()
		id := c.Self().ID
		if err := host.Control("remove", map[string]any{"participant": id}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-c.Done():
		case <-waitCtx(t).Done():
			t.Fatalf("%s's socket is still open on eu2 after the removal", c.Self().Name)
		}
		if err := waitUntil(waitCtx(t), func() bool { return !slices.Contains(eu2.Signal().EntryPeers(m.ID), id) }); err != nil {
			t.Fatalf("%s still has a peer on eu2: %v", c.Self().Name, err)
		}
		// Nothing more reaches them (their PeerConnection is still open
		// on their side) while Di goes on receiving.
		ctx := waitCtx(t)
		for {
			got := packets(c, adaID, "microphone")
			receiving(t, di, adaID, "microphone", packets(di, adaID, "microphone"), 100)
			if packets(c, adaID, "microphone") == got {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s still receives Ada's microphone after the removal", c.Self().Name)
			}
		}
	}
	removed(bo)
	if !slices.Contains(eu2.Signal().EntryPeers(m.ID), di.Self().ID) {
		t.Fatal("Di lost her peer on eu2 when Bo was removed")
	}

	lose.Store(true)
	removed(flo)
	receiving(t, di, adaID, "microphone", packets(di, adaID, "microphone"), 100)
}

// doAt sends a JSON request as a to another node of the cluster (the
// session cookie is the host's, whatever the port) and decodes the
// answer into out; it returns the status code.
func doAt(t *testing.T, a *servertest.Account, srv *servertest.Server, method, path string, body, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestClusterOrgRegionsReachEveryNode: the organisation's regions change
// through the API on us1, a node that does not hold the meeting (held on
// eu1, with Ada there and Bo through us1). Narrowed to eu: eu1 closes
// Bo's socket (region_not_allowed) and us1's media for the meeting goes,
// while Ada's meeting goes on. Moved to us: eu1 may no longer hold the
// meeting, and it ends there for everyone, as on a single node.
func TestClusterOrgRegionsReachEveryNode(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	us1 := node(t, "us1", "us", natsURL, db, key)
	admin := eu1.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, us1)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"}, "microphone")
	undo()
	bo := join(t, us1, client.Options{Meeting: m.ID, Name: "Bo"})
	receiving(t, bo, ada.Self().ID, "microphone", 0, 50)

	setOrgRegions := func(regions ...string) {
		t.Helper()
		var org map[string]any
		admin.Do(t, "GET", "/api/admin/org", nil, &org)
		delete(org, "geoip")
		delete(org, "region")
		org["regions"] = regions
		if code := doAt(t, admin, us1, "PUT", "/api/admin/org", org, nil); code != http.StatusOK {
			t.Fatalf("PUT the organisation's regions %v through us1: %d", regions, code)
		}
	}
	setOrgRegions("eu")
	closedForRegion(t, bo)
	noEntryMedia(t, us1, eu1, m.ID)
	select {
	case <-ada.Done():
		t.Fatal("Ada's meeting ended, though eu1 may still hold it")
	default:
	}

	setOrgRegions("us")
	select {
	case <-ada.Done():
	case <-waitCtx(t).Done():
		t.Fatal("the meeting went on on eu1 after the organisation moved every meeting to us")
	}
	if ada.ClosedReason() != "ended" {
		t.Fatalf("Ada's socket closed with %q: %q, want ended", ada.ClosedReason(), ada.ClosedMessage())
	}
}

// TestClusterRelayClosedWithItsLastMember: Bo, the only member of the
// meeting on eu2, is removed and eu2 misses eu1's close (its lease is
// long here, so it still holds his socket and peer). eu1 closes its
// relays with eu2 all the same once eu2 holds none of the meeting's
// members, and none of Ada's media reaches Bo any more, before eu2's
// lease would have ended him.
func TestClusterRelayClosedWithItsLastMember(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	const lease = time.Minute
	eu1 := nodeWith(t, "eu1", "eu", natsURL, db, key, func(o *signal.Options) { o.EntryLease = lease })
	eu2 := nodeWith(t, "eu2", "eu", natsURL, db, key, func(o *signal.Options) {
		o.EntryLease = lease
		o.LoseClose = func() bool { return true }
	})
	admin := eu1.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, eu2)
	host := join(t, eu1, client.Options{Meeting: m.ID, Name: "Host", Cookie: admin.Cookie()})
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"}, "microphone")
	undo()
	adaID := ada.Self().ID
	bo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo"})
	receiving(t, bo, adaID, "microphone", 0, 50)

	if err := host.Control("remove", map[string]any{"participant": bo.Self().ID}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(waitCtx(t), func() bool {
		to, from := eu1.Signal().RelayNodes(m.ID)
		return len(to)+len(from) == 0
	}); err != nil {
		to, from := eu1.Signal().RelayNodes(m.ID)
		t.Fatalf("eu1 still relays to %v and from %v with no member on eu2: %v", to, from, err)
	}
	// What was on its way when they closed may still arrive; then nothing.
	ctx := waitCtx(t)
	for {
		got := packets(bo, adaID, "microphone")
		receiving(t, host, adaID, "microphone", packets(host, adaID, "microphone"), 100)
		if packets(bo, adaID, "microphone") == got {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("Bo still receives Ada's microphone after eu1's relays closed")
		}
	}
	select {
	case <-bo.Done():
		t.Fatal("eu2 closed Bo's socket: the test needs it kept (a lost close, a long lease)")
	default:
	}
}
