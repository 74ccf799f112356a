package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/web"
)

// A cluster for browser tests: nodes on one NATS and one PostgreSQL, each
// an in-process server with its own origin, serving the real web client
// (internal/multinode has the same for pion clients).

// testCluster is the NATS server, the database and the shared secret key
// that the nodes of one test's cluster share.
type testCluster struct {
	t    *testing.T
	nats string
	db   string
	key  []byte
}

// newCluster starts the cluster's NATS server (servertest.StartNATS) and a
// throwaway PostgreSQL with one database. e2e's TestMain does not start
// PostgreSQL for every browser test; this test starts its own, and skips
// without the binaries (fails under CI=true, which must have them).
func newCluster(t *testing.T) *testCluster {
	t.Helper()
	bin, err := pgtest.FindBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is needed and missing under CI: %v", err)
		}
		t.Skipf("cluster browser tests skipped: %v", err)
	}
	began := time.Now()
	pg, err := pgtest.Start(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL up in %v", time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() { pg.Stop() })
	db, drop, err := pg.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)

	natsURL := servertest.StartNATS(t, "127.0.0.1")

	// The nodes share the key that seals the database's secrets.
	dir := t.TempDir()
	s, err := auth.LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	key, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &testCluster{t: t, nats: natsURL, db: db, key: key}
}

// node starts a cluster node with the real web client.
func (c *testCluster) node(id, region string) *servertest.Server {
	c.t.Helper()
	data := c.t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "secret.key"), c.key, 0o600); err != nil {
		c.t.Fatal(err)
	}
	return servertest.Start(c.t, servertest.Options{Web: web.Dist(), Config: func(cfg *config.Config) {
		cfg.Data = data
		cfg.Region = region
		cfg.Database = c.db
		cfg.Cluster.NodeID = id
		cfg.Cluster.NATS.URLs = []string{c.nats}
	}})
}

// meanColourJS is the mean colour of a video element's current picture,
// drawn at 64×48 ({r, g, b}; null: no picture yet).
const meanColourJS = `((sel) => {
	const v = document.querySelector(sel);
	if (!v || v.videoWidth === 0) return null;
	const c = document.createElement("canvas");
	c.width = 64; c.height = 48;
	const x = c.getContext("2d", { willReadFrequently: true });
	x.drawImage(v, 0, 0, 64, 48);
	const d = x.getImageData(0, 0, 64, 48).data;
	let r = 0, g = 0, b = 0;
	for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
	const n = d.length / 4;
	return { r: r / n, g: g / n, b: b / n };
})`

// showsFakeCamera waits until the tab's tile of participant shows the
// fake camera of the participant's browser, not black: Chromium's is
// mostly green; Firefox's (ESR) is a plain picture whose colour changes,
// of which the test asks only that it is not black.
func (tb *tab) showsFakeCamera(participant string, chromium bool) {
	tb.t.Helper()
	sel := fmt.Sprintf(`.tile:not(.screen)[data-participant=%q] video.tile-video`, participant)
	want, cond := "the fake camera's green picture", `p.g > p.r + 40 && p.g > p.b + 40`
	if !chromium {
		want, cond = "a picture, not black,", `0.299 * p.r + 0.587 * p.g + 0.114 * p.b > 24`
	}
	tb.waitJS(want+" of "+participant, fmt.Sprintf(`((p) => p !== null && %s)(%s(%q))`, cond, meanColourJS, sel))
}

// TestClusterTwoNodesBrowsers: two nodes of one region on one NATS and
// one PostgreSQL, each with its own origin; an end-to-end encrypted
// meeting placed on eu1. Ada's Chromium tab joins through eu1's URL,
// Bob's through eu2's, which relays his signalling to eu1 over NATS; his
// media goes to eu2's SFU, and the two nodes relay each other's tracks
// (one relay each way). Each decodes the other's video, which shows the
// other's fake camera, and both are members of the same MLS group (same
// epoch, same security code). eu2 holds no meeting, only a router for
// Bob's media, and forwards Ada's video to him: Bob really was relayed,
// and his media really stayed on eu2.
//
// Then eu2 drops its connections (as a network failure would), so Bob's
// browser loses its socket; it reconnects through eu2, which relays its
// resume to eu1, and Bob is back as himself, connected in Ada's list, in
// the same encrypted group (same epoch and code: the meeting went on, only
// his socket changed), decoding Ada's video again as she decodes his.
func TestClusterTwoNodesBrowsers(t *testing.T) {
	eu1, eu2, ada, bob := meetAcrossNodes(t, func() *tab { return newTab(t, "Bob") })
	adaID, bobID := ada.selfID(), bob.selfID()
	code, epoch := ada.securityCode(), ada.e2eeEpoch()
	dropped := time.Now()
	eu2.DropConnections()
	bob.waitJS("to notice the lost socket", `window.kaigiDebug.state() === "reconnecting"`)
	bob.waitJS("to be back in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	back := time.Since(dropped)
	if bob.selfID() != bobID {
		t.Fatalf("Bob came back as %s, want %s", bob.selfID(), bobID)
	}
	if st := eu2.Signal().Stats(); st.Meetings != 0 || st.Connections != 1 {
		t.Fatalf("eu2 holds %d meetings and %d sockets after the resume; it should only relay Bob's", st.Meetings, st.Connections)
	}
	if st := eu1.Signal().Stats(); st.Meetings != 1 || st.Participants != 2 {
		t.Fatalf("eu1 holds %d meetings with %d participants, want 1 with Ada and Bob", st.Meetings, st.Participants)
	}
	ada.decodesMore(bobID, "camera", ada.framesDecoded(bobID, "camera"))
	bob.decodesMore(adaID, "camera", bob.framesDecoded(adaID, "camera"))
	media := time.Since(dropped)
	ada.waitFor("Bob connected in Ada's list", rowOf(bobID)+`[data-connection="connected"]`)
	if c, e := sameCodes(t, ada, bob), ada.e2eeEpoch(); c != code || e != epoch {
		t.Fatalf("the group changed over Bob's resume: epoch %d → %d, code %q → %q", epoch, e, code, c)
	}
	t.Logf("after eu2 dropped Bob's socket: back in the meeting after %v, both decoding after %v", back.Round(time.Millisecond), media.Round(time.Millisecond))
}

// TestClusterChromiumAndFirefoxBrowsers is TestClusterTwoNodesBrowsers
// (without the resume) with Firefox ESR as the relayed browser (skipped
// without Firefox, except in CI).
func TestClusterChromiumAndFirefoxBrowsers(t *testing.T) {
	meetAcrossNodes(t, func() *tab { return newFirefoxTab(t, "Fox") })
}

// meetAcrossNodes is TestClusterTwoNodesBrowsers's meeting, with the
// relayed tab (Bob's) opened by second. It returns the nodes and the tabs.
func meetAcrossNodes(t *testing.T, second func() *tab) (eu1, eu2 *servertest.Server, ada, bob *tab) {
	start := time.Now()
	bob, ada = second(), newTab(t, "Ada") // without Firefox, its test skips here
	c := newCluster(t)
	eu1, eu2 = c.node("eu1", "eu"), c.node("eu2", "eu")
	host := eu1.Admin(t)
	set := servertest.OpenSettings()
	set.E2EE = true
	m := host.NewMeeting(t, set)
	t.Logf("tabs and cluster (PostgreSQL, NATS, two nodes) up in %v", time.Since(start).Round(time.Millisecond))

	ada.signedInAs(eu1, host) // Ada hosts
	undo := servertest.PlaceOn(t, eu1, eu2)
	ada.joinMeeting(eu1.URL + "/m/" + m.ID)
	undo()
	bob.joinTo(eu2.URL+"/m/"+m.ID, "")
	bob.waitJS("to be in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	adaID, bobID := ada.selfID(), bob.selfID()

	// Bob's socket is on eu2, his membership on eu1.
	if info, err := eu2.Cluster().Place(context.Background(), meeting.ID(m.ID), nil, false); err != nil || info.ID != "eu1" {
		t.Fatalf("the meeting is placed on %q (%v), want eu1", info.ID, err)
	}
	if st := eu2.Signal().Stats(); st.Meetings != 0 || st.Connections != 1 {
		t.Fatalf("eu2 holds %d meetings and %d sockets; it should only relay %s's", st.Meetings, st.Connections, bob.name)
	}
	if st := eu1.Signal().Stats(); st.Meetings != 1 || st.Participants != 2 || st.Connections != 1 {
		t.Fatalf("eu1 holds %d meetings with %d participants and %d sockets, want 1 with Ada and %s, Ada's socket", st.Meetings, st.Participants, st.Connections, bob.name)
	}

	ada.decodes(bobID, "camera")
	bob.decodes(adaID, "camera")
	ada.decodesMore(bobID, "camera", ada.framesDecoded(bobID, "camera"))
	bob.decodesMore(adaID, "camera", bob.framesDecoded(adaID, "camera"))
	ada.showsFakeCamera(bobID, bob.ff == nil)
	bob.showsFakeCamera(adaID, true)
	for _, tb := range []*tab{ada, bob} {
		tb.waitFor("the encrypted indicator", `#e2ee-indicator[data-state="on"]`)
	}
	code := sameCodes(t, ada, bob)
	if ada.e2eeEpoch() < 1 {
		t.Fatalf("epoch %d: %s was never added to the group", ada.e2eeEpoch(), bob.name)
	}
	// Bob's media is on eu2, Ada's on eu1, and the nodes relay between
	// them (internal/multinode TestClusterMediaCascades).
	if n := eu2.Signal().EntryRouters(); n != 1 {
		t.Fatalf("eu2 holds %d routers for meetings placed elsewhere, want 1 for %s's media", n, bob.name)
	}
	if to, from := eu1.Signal().RelayNodes(m.ID); len(to) != 1 || to[0] != "eu2" || len(from) != 1 || from[0] != "eu2" {
		t.Fatalf("eu1 relays to %v and from %v, want eu2 both ways", to, from)
	}
	if fw := eu2.SFU().Stats().ForwardedPackets; fw == 0 {
		t.Fatal("eu2's SFU forwarded nothing")
	}
	if fw := eu1.SFU().Stats().ForwardedPackets; fw == 0 {
		t.Fatal("eu1's SFU forwarded nothing")
	}
	ada.screenshot("cluster")
	bob.screenshot("cluster")
	t.Logf("both decode each other across the nodes, security code %q at epoch %d, %v after the start", code, ada.e2eeEpoch(), time.Since(start).Round(time.Millisecond))
	return eu1, eu2, ada, bob
}

// nodeProcess starts `kaigi serve` (the binary with the web client built
// in web/dist) as a cluster node, in its own process, killed with SIGKILL
// by the test or when it ends.
func (c *testCluster) nodeProcess(id, region string) *servertest.Process {
	c.t.Helper()
	data := c.t.TempDir() // given again: the last --data wins
	if err := os.WriteFile(filepath.Join(data, "secret.key"), c.key, 0o600); err != nil {
		c.t.Fatal(err)
	}
	cfg := fmt.Sprintf("region: %s\ndatabase: %q\ncluster:\n  node_id: %s\n  nats:\n    urls: [%q]\n", region, c.db, id, c.nats)
	file := filepath.Join(c.t.TempDir(), "kaigi.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return servertest.StartProcess(c.t, servertest.Binary(c.t), "--config", file, "--data", data)
}

// TestClusterNodeLossBrowsers: an end-to-end encrypted meeting is placed
// on eu1, a `kaigi serve` process; Ada (its host) and Bob join with
// Chromium through eu2's URL, which relays both to eu1, and decode each
// other. eu1 is killed (SIGKILL). eu2 sees it leave the registry and
// closes both relayed sockets as at a restart; both browsers reconnect
// through eu2, which now holds the meeting, come back as the same
// participants (Ada still the host), and decode each other's video again
// in the same encrypted group: the browsers kept their MLS state and eu2
// continued the group from the epoch they proved (issue 17), so the epoch
// and the security code are those from before the kill, not a group
// formed afresh. The test reports how long each step took after the kill.
func TestClusterNodeLossBrowsers(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	eu1, eu2 := c.nodeProcess("eu1", "eu"), c.node("eu2", "eu")
	host := eu2.Admin(t)
	set := servertest.OpenSettings()
	set.E2EE = true
	m := host.NewMeeting(t, set)
	undo := servertest.PlaceOn(t, eu2, eu2)
	if info, err := eu2.Cluster().Place(context.Background(), meeting.ID(m.ID), nil, false); err != nil || info.ID != "eu1" {
		t.Fatalf("placed on %q (%v), want eu1", info.ID, err)
	}
	undo()
	t.Logf("cluster up (PostgreSQL, NATS, a kaigi process and an in-process node) in %v", time.Since(start).Round(time.Millisecond))

	ada, bob := newTab(t, "Ada"), newTab(t, "Bob")
	ada.signedInAs(eu2, host)
	ada.joinMeeting(eu2.URL + "/m/" + m.ID)
	bob.joinMeeting(eu2.URL + "/m/" + m.ID)
	adaID, bobID := ada.selfID(), bob.selfID()
	if st := eu2.Signal().Stats(); st.Meetings != 0 || st.Connections != 2 {
		t.Fatalf("eu2 holds %d meetings and %d sockets; it should relay Ada's and Bob's to eu1", st.Meetings, st.Connections)
	}
	ada.decodes(bobID, "camera")
	bob.decodes(adaID, "camera")
	before := sameCodes(t, ada, bob)
	epoch := ada.e2eeEpoch()

	killed := time.Now()
	eu1.Kill()
	for _, tb := range []*tab{ada, bob} {
		tb.waitJS("to notice the meeting's node is gone", `window.kaigiDebug.state() === "reconnecting"`)
	}
	noticed := time.Since(killed)
	for _, tb := range []*tab{ada, bob} {
		tb.waitJS("to be back in the meeting", `window.kaigiDebug.state() === "in-meeting"`)
	}
	back := time.Since(killed)
	if ada.selfID() != adaID || bob.selfID() != bobID {
		t.Fatalf("came back as %s and %s, want the same participants %s and %s", ada.selfID(), bob.selfID(), adaID, bobID)
	}
	if st := eu2.Signal().Stats(); st.Meetings != 1 || st.Participants != 2 {
		t.Fatalf("eu2 holds %d meetings with %d participants, want the one it took over, with Ada and Bob", st.Meetings, st.Participants)
	}
	ada.decodesMore(bobID, "camera", 0)
	bob.decodesMore(adaID, "camera", 0)
	ada.decodesMore(bobID, "camera", ada.framesDecoded(bobID, "camera"))
	bob.decodesMore(adaID, "camera", bob.framesDecoded(adaID, "camera"))
	media := time.Since(killed)
	// The group went on (issue 17): the same epoch and security code, not
	// a new group at epoch 0.
	if code, e := sameCodes(t, ada, bob), ada.e2eeEpoch(); code != before || e != epoch || e == 0 {
		t.Fatalf("after the node loss: epoch %d, code %q; want the group to go on at epoch %d with code %q", e, code, epoch, before)
	}
	ada.showsFakeCamera(bobID, true)
	bob.showsFakeCamera(adaID, true)
	for _, tb := range []*tab{ada, bob} {
		tb.waitJS("no encryption alert", `!document.querySelector("#e2ee-alert").checkVisibility()`)
	}
	ada.waitVisible("Ada still the host", "#end-for-all")
	if info, err := eu2.Cluster().Place(context.Background(), meeting.ID(m.ID), nil, false); err != nil || info.ID != "eu2" {
		t.Fatalf("the meeting is placed on %q (%v), want eu2", info.ID, err)
	}
	ada.screenshot("after-node-loss")
	t.Logf("after eu1's SIGKILL: both browsers reconnecting after %v, back in the meeting after %v, decoding each other (same group, epoch %d) after %v",
		noticed.Round(time.Millisecond), back.Round(time.Millisecond), epoch, media.Round(time.Millisecond))
}
