package multinode_test

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/pion/rtp"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// seqLog counts the RTP packets a client receives of each remote track by
// sequence number, so that a test can tell how many of the packets sent
// between the first and the last received never arrived.
type seqLog struct {
	mu     sync.Mutex
	tracks map[string]*seqCount // by participant and source
}

type seqCount struct {
	first, last uint32 // extended sequence numbers
	seen        map[uint32]bool
	started     bool
}

func newSeqLog() *seqLog { return &seqLog{tracks: make(map[string]*seqCount)} }

// observe is a client.Options.Observe.
func (l *seqLog) observe(rt *client.RemoteTrack) func([]byte) {
	key := rt.Participant + "/" + rt.Source
	var h rtp.Header
	return func(b []byte) {
		if _, err := h.Unmarshal(b); err != nil {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		c := l.tracks[key]
		if c == nil {
			c = &seqCount{seen: make(map[uint32]bool)}
			l.tracks[key] = c
		}
		seq := uint32(h.SequenceNumber)
		if !c.started {
			c.started = true
			c.first, c.last = seq+1<<16, seq+1<<16 // room below for reordering
			c.seen[c.first] = true
			return
		}
		// The extension nearest the last one seen.
		ext := c.last&^0xffff | seq
		switch {
		case ext+0x8000 < c.last:
			ext += 1 << 16
		case ext > c.last+0x8000:
			ext -= 1 << 16
		}
		c.seen[ext] = true
		c.first = min(c.first, ext)
		c.last = max(c.last, ext)
	}
}

// lost is how many packets of participant's source between the first and
// the last received are missing, and how many were received.
func (l *seqLog) lost(participant, source string) (lost, got int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.tracks[participant+"/"+source]
	if c == nil {
		return 0, 0
	}
	return int(c.last-c.first+1) - len(c.seen), len(c.seen)
}

// mediaPeer returns the address of the server end of c's PeerConnection,
// as its ICE transport selected it, through one of the tracks c receives.
func mediaPeer(t *testing.T, c *client.Client) netip.AddrPort {
	t.Helper()
	for _, rt := range c.RemoteTracks() {
		pair, err := rt.Receiver().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			continue
		}
		a, err := netip.ParseAddr(pair.Remote.Address)
		if err != nil {
			t.Fatal(err)
		}
		return netip.AddrPortFrom(a, pair.Remote.Port)
	}
	t.Fatalf("%s has no selected candidate pair", c.Self().Name)
	return netip.AddrPort{}
}

// stopsReceiving waits until c receives 100 packets of pid's microphone
// in a row while none of pid's source arrives: the source is no longer
// forwarded to c, whatever was in flight when it was stopped.
func stopsReceiving(t *testing.T, c *client.Client, pid, source string) {
	t.Helper()
	ctx := waitCtx(t)
	for {
		src, mic := packets(c, pid, source), packets(c, pid, "microphone")
		if err := c.WaitFor(ctx, c.Self().Name+" receives "+pid+"'s microphone", func() bool {
			return packets(c, pid, "microphone") >= mic+100
		}); err != nil {
			t.Fatalf("%s still receives %s's %s (%d packets): %v", c.Self().Name, pid, source, packets(c, pid, source), err)
		}
		if packets(c, pid, source) == src {
			return
		}
	}
}

// errorCode waits until c has more than n server errors and returns the
// code of the last one.
func errorCode(t *testing.T, c *client.Client, n int) string {
	t.Helper()
	waitFor(t, c, "an error", func() bool { return len(c.Errors()) > n })
	errs := c.Errors()
	return errs[len(errs)-1].Code
}

// TestClusterMediaCascades: a meeting placed on eu1 with members on eu1
// and eu2. Each member's PeerConnection is with the node their socket
// reached: Ada's and the host's with eu1, Bo's and Di's with eu2, which
// holds a router of its own for the meeting while eu1 makes no peer for
// them. The media crosses between the nodes' routers through one relay
// each way, and each client receives the others' microphone and camera
// with no packet missing (loopback). The host's controls act where the
// media is: the host on eu1 stops Ada's camera (on eu1) and Bo's (on eu2,
// told by eu1), and neither reaches the others any more, on either node.
// When Bo and Di leave, eu2's router and the relays close.
func TestClusterMediaCascades(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	admin := eu1.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())

	undo := placeOn(t, eu1, eu2)
	hostSeq, adaSeq, boSeq, diSeq := newSeqLog(), newSeqLog(), newSeqLog(), newSeqLog()
	host := join(t, eu1, client.Options{Meeting: m.ID, Name: "Host", Cookie: admin.Cookie(), Observe: hostSeq.observe})
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada", Observe: adaSeq.observe}, "microphone", "camera")
	undo()
	bo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo", Observe: boSeq.observe}, "microphone", "camera")
	di := join(t, eu2, client.Options{Meeting: m.ID, Name: "Di", Observe: diSeq.observe})
	adaID, boID := ada.Self().ID, bo.Self().ID

	for _, src := range []string{"microphone", "camera"} {
		receiving(t, bo, adaID, src, 0, 200)
		receiving(t, di, adaID, src, 0, 200)
		receiving(t, ada, boID, src, 0, 200)
		receiving(t, host, boID, src, 0, 200)
	}

	// Where each member's media is.
	if n := eu2.Signal().EntryRouters(); n != 1 {
		t.Fatalf("eu2 holds %d routers for meetings placed elsewhere, want 1", n)
	}
	if n := eu1.Signal().EntryRouters(); n != 0 {
		t.Fatalf("eu1 holds %d routers for meetings placed elsewhere, want none", n)
	}
	for _, c := range []*client.Client{bo, di} {
		if a := mediaPeer(t, c); !eu2.SFU().MediaAddr(a) || eu1.SFU().MediaAddr(a) {
			t.Fatalf("%s's PeerConnection is with %s: eu2's %v, eu1's %v; want eu2's", c.Self().Name, a, eu2.SFU().MediaAddr(a), eu1.SFU().MediaAddr(a))
		}
	}
	for _, c := range []*client.Client{host, ada} {
		if a := mediaPeer(t, c); !eu1.SFU().MediaAddr(a) || eu2.SFU().MediaAddr(a) {
			t.Fatalf("%s's PeerConnection is with %s, want eu1's", c.Self().Name, a)
		}
	}
	to, from := eu1.Signal().RelayNodes(m.ID)
	if len(to) != 1 || to[0] != "eu2" || len(from) != 1 || from[0] != "eu2" {
		t.Fatalf("eu1 relays to %v and from %v, want eu2 both ways", to, from)
	}
	if eu2.SFU().Stats().ForwardedPackets == 0 {
		t.Fatal("eu2's SFU forwarded nothing")
	}

	// Nothing missing, each way (counted between each track's first and
	// last packet received).
	for _, c := range []struct {
		who       string
		log       *seqLog
		publisher string
	}{{"Bo", boSeq, adaID}, {"Di", diSeq, adaID}, {"Ada", adaSeq, boID}, {"Host", hostSeq, boID}} {
		for _, src := range []string{"microphone", "camera"} {
			if lost, got := c.log.lost(c.publisher, src); lost != 0 || got == 0 {
				t.Errorf("%s: %d of %s's %s packets missing (%d received)", c.who, lost, c.publisher, src, got)
			}
		}
	}

	// The host stops Ada's camera (her peer is on eu1) and Bo's (his is
	// on eu2): nobody receives them any more, on either node.
	if err := host.Control("stop_video", map[string]any{"participant": adaID}); err != nil {
		t.Fatal(err)
	}
	stopsReceiving(t, bo, adaID, "camera")
	stopsReceiving(t, di, adaID, "camera")
	if err := host.Control("stop_video", map[string]any{"participant": boID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bo, "Bo told his camera was stopped", func() bool { return len(bo.Stopped()) == 1 })
	stopsReceiving(t, ada, boID, "camera")
	stopsReceiving(t, di, boID, "camera")
	stopsReceiving(t, host, boID, "camera")

	// Bo and Di leave: eu2's router goes, and the relays with it.
	bo.Leave()
	di.Leave()
	ctx := waitCtx(t)
	if err := waitUntil(ctx, func() bool {
		to, from := eu1.Signal().RelayNodes(m.ID)
		return eu2.Signal().EntryRouters() == 0 && len(to)+len(from) == 0
	}); err != nil {
		to, from := eu1.Signal().RelayNodes(m.ID)
		t.Fatalf("eu2 holds %d routers, eu1 relays to %v and from %v: %v", eu2.Signal().EntryRouters(), to, from, err)
	}
}

// TestClusterEntryNodeGivesNoMediaBeforeAdmission: a relayed member is
// not trusted. Wes, in the waiting room through eu2, sends an offer: eu2
// has no peer for him (it opens one only when eu1 says he is admitted),
// so the offer goes to eu1, which refuses it as for a local socket, and
// no router opens on either node for him. Once admitted, Wes may not
// publish a screen when the meeting lets only hosts share: eu2 refuses
// the offer as eu1 would, with what eu1 told it.
func TestClusterEntryNodeGivesNoMediaBeforeAdmission(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	admin := eu1.Admin(t)
	set := servertest.OpenSettings()
	set.WaitingRoom = true
	set.ScreenShare = meeting.WhoHosts
	m := admin.NewMeeting(t, set)

	undo := placeOn(t, eu1, eu2)
	host := join(t, eu1, client.Options{Meeting: m.ID, Name: "Host", Cookie: admin.Cookie()}, "microphone")
	undo()
	wes := join(t, eu2, client.Options{Meeting: m.ID, Name: "Wes"})
	if wes.Waiting() == "" {
		t.Fatal("Wes was not put in the waiting room")
	}
	n := len(wes.Errors())
	if err := wes.Control("offer", map[string]any{"sdp": "v=0\r\n", "tracks": []any{}}); err != nil {
		t.Fatal(err)
	}
	if code := errorCode(t, wes, n); code != "not_joined" {
		t.Fatalf("Wes's offer from the waiting room: %s, want not_joined", code)
	}
	if r := eu2.Signal().EntryRouters(); r != 0 {
		t.Fatalf("eu2 opened %d routers for someone waiting", r)
	}
	if tracks := wes.RemoteTracks(); len(tracks) != 0 {
		t.Fatalf("Wes receives %d tracks from the waiting room", len(tracks))
	}

	// Admitted: his media is on eu2, and he gets the host's microphone.
	waitFor(t, host, "Wes waiting", func() bool { return len(host.WaitingRoom()) == 1 })
	if err := host.Control("admit", map[string]any{"participant": host.WaitingRoom()[0].ID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, wes, "Wes admitted", func() bool { return wes.Self().ID != "" && wes.Waiting() == "" })
	receiving(t, wes, host.Self().ID, "microphone", 0, 50)
	if r := eu2.Signal().EntryRouters(); r != 1 {
		t.Fatalf("eu2 holds %d routers once Wes is in, want 1", r)
	}

	// Sharing the screen is for hosts: refused by eu2, nothing published.
	n = len(wes.Errors())
	if _, err := wes.Publish("screen"); err != nil {
		t.Fatal(err)
	}
	if code := errorCode(t, wes, n); code != "forbidden" {
		t.Fatalf("Wes publishing a screen through eu2: %s, want forbidden", code)
	}
}

// TestClusterMediaThreeNodes: a meeting on eu1 with members on eu2 and
// eu3 as well. The relays are a star around eu1: Ada's tracks, published
// on eu2, reach Cy on eu3 through eu1, which relays them on to eu3 but
// not back to eu2; eu2 and eu3 relay nothing to each other. Nothing is
// missing on the way (loopback).
func TestClusterMediaThreeNodes(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	eu3 := node(t, "eu3", "eu", natsURL, db, key)
	m := eu1.Admin(t).NewMeeting(t, servertest.OpenSettings())

	undo := placeOn(t, eu1, eu2, eu3)
	hoSeq, adaSeq, cySeq := newSeqLog(), newSeqLog(), newSeqLog()
	ho := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ho", Observe: hoSeq.observe})
	undo()
	ada := join(t, eu2, client.Options{Meeting: m.ID, Name: "Ada", Observe: adaSeq.observe}, "microphone", "camera")
	cy := join(t, eu3, client.Options{Meeting: m.ID, Name: "Cy", Observe: cySeq.observe}, "microphone")
	adaID, cyID := ada.Self().ID, cy.Self().ID

	for _, src := range []string{"microphone", "camera"} {
		receiving(t, cy, adaID, src, 0, 200)
		receiving(t, ho, adaID, src, 0, 200)
	}
	receiving(t, ada, cyID, "microphone", 0, 200)
	receiving(t, ho, cyID, "microphone", 0, 200)

	for _, c := range []struct {
		who       string
		log       *seqLog
		publisher string
		src       string
	}{{"Cy", cySeq, adaID, "microphone"}, {"Cy", cySeq, adaID, "camera"}, {"Ada", adaSeq, cyID, "microphone"}, {"Ho", hoSeq, adaID, "camera"}} {
		if lost, got := c.log.lost(c.publisher, c.src); lost != 0 || got == 0 {
			t.Errorf("%s: %d of %s's %s packets missing (%d received)", c.who, lost, c.publisher, c.src, got)
		}
	}
	if a := mediaPeer(t, cy); !eu3.SFU().MediaAddr(a) {
		t.Fatalf("Cy's PeerConnection is with %s, not eu3's", a)
	}
	to, from := eu1.Signal().RelayNodes(m.ID)
	slices.Sort(to)
	slices.Sort(from)
	if !slices.Equal(to, []string{"eu2", "eu3"}) || !slices.Equal(from, []string{"eu2", "eu3"}) {
		t.Fatalf("eu1 relays to %v and from %v, want eu2 and eu3 both ways", to, from)
	}
	for _, n := range []*servertest.Server{eu2, eu3} {
		if to, from := n.Signal().RelayNodes(m.ID); !slices.Equal(to, []string{"eu1"}) || !slices.Equal(from, []string{"eu1"}) {
			t.Fatalf("%s relays to %v and from %v, want eu1 only", n.Cluster().ID(), to, from)
		}
	}
}

// TestClusterMediaStaysInRegions: the meeting may be held only in "eu". A
// node of the cluster outside it (us1) asks eu1 for the meeting's media,
// as a node whose member is in the meeting would: eu1 refuses ("closed_out")
// and relays nothing to it, while it relays to eu2 for Bo.
func TestClusterMediaStaysInRegions(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	us1 := node(t, "us1", "us", natsURL, db, key)
	set := servertest.OpenSettings()
	regions := meeting.Regions{"eu"}
	set.Regions = &regions
	m := eu1.Admin(t).NewMeeting(t, set)

	undo := placeOn(t, eu1, eu2, us1)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"}, "microphone")
	undo()
	bo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo"})
	receiving(t, bo, ada.Self().ID, "microphone", 0, 50)

	// us1's relay subject, watched; then a "want" in us1's name.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	replies := make(chan cluster.RelayMessage, 8)
	if _, err := nc.Subscribe(cluster.RelaySubject("us1"), func(msg *nats.Msg) {
		var rm cluster.RelayMessage
		if jsonUnmarshal(msg.Data, &rm) == nil {
			replies <- rm
		}
	}); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(cluster.RelayMessage{Meeting: m.ID, From: "us1", Kind: cluster.RelayWant})
	if err := nc.Publish(cluster.RelaySubject("eu1"), want); err != nil {
		t.Fatal(err)
	}
	select {
	case rm := <-replies:
		if rm.Kind != cluster.RelayClosedOut || rm.Meeting != m.ID || rm.From != "eu1" {
			t.Fatalf("eu1 answered us1's want with %+v, want closed_out", rm)
		}
	case <-waitCtx(t).Done():
		t.Fatal("eu1 never answered us1's want")
	}
	if to, _ := eu1.Signal().RelayNodes(m.ID); !slices.Equal(to, []string{"eu2"}) {
		t.Fatalf("eu1 relays the meeting to %v, want eu2 only", to)
	}
}

// rawWelcome joins the meeting through srv on a bare WebSocket and
// returns the welcome as sent.
func rawWelcome(t *testing.T, srv *servertest.Server, meetingID, name string) wire.Welcome {
	t.Helper()
	ctx := waitCtx(t)
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	hello, _ := json.Marshal(wire.Hello{Type: wire.TypeHello, V: wire.Version, Client: "kaigi-go/test", Meeting: meetingID, Name: name})
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("no welcome through %s: %v", srv.URL, err)
		}
		var w wire.Welcome
		if json.Unmarshal(b, &w) == nil && w.Type == "welcome" {
			return w
		}
	}
}

// TestClusterEntryNodeGivesItsOwnTURN: a relayed member's PeerConnection
// is with the node they reached, so their welcome names that node's TURN
// server, with credentials it accepts, not the meeting node's.
func TestClusterEntryNodeGivesItsOwnTURN(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	m := eu1.Admin(t).NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, eu2)
	local := rawWelcome(t, eu1, m.ID, "Ada")
	undo()
	relayed := rawWelcome(t, eu2, m.ID, "Bo")
	if eu1.TURN() == nil || eu2.TURN() == nil || eu1.TURN().Port() == eu2.TURN().Port() {
		t.Fatal("the test needs each node's own TURN server")
	}
	turnPort := func(w wire.Welcome) string {
		for _, s := range w.ICEServers {
			for _, u := range s.URLs {
				if strings.HasPrefix(u, "turn:") {
					return strings.SplitN(strings.TrimPrefix(u, "turn:"), "?", 2)[0]
				}
			}
		}
		return ""
	}
	if got := turnPort(local); !strings.HasSuffix(got, ":"+strconv.Itoa(eu1.TURN().Port())) {
		t.Fatalf("Ada's welcome through eu1 names TURN %q, want eu1's port %d", got, eu1.TURN().Port())
	}
	if got := turnPort(relayed); !strings.HasSuffix(got, ":"+strconv.Itoa(eu2.TURN().Port())) {
		t.Fatalf("Bo's welcome through eu2 names TURN %q, want eu2's port %d", got, eu2.TURN().Port())
	}
	if relayed.Self.ID == "" || relayed.Resume == "" || len(relayed.Participants) != 2 {
		t.Fatalf("Bo's welcome lost its other fields: %+v", relayed)
	}
}

// TestClusterRelayComesBack: news of a relay closing names the relay, so
// a close without its ID (forged, or about a relay long gone) changes
// nothing: Bo, on eu2, keeps receiving Ada's microphone from eu1. With
// the ID (here as eu2 would send it, had its end gone), eu1 closes its
// end; eu2's end learns it as its connection closes, and eu2, which
// still has Bo, asks again: Bo receives Ada's microphone again, on a new
// track.
func TestClusterRelayComesBack(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	m := eu1.Admin(t).NewMeeting(t, servertest.OpenSettings())

	// eu1's offers to eu2 name the relay.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	offers := make(chan string, 16)
	if _, err := nc.Subscribe(cluster.RelaySubject("eu2"), func(msg *nats.Msg) {
		var rm cluster.RelayMessage
		if jsonUnmarshal(msg.Data, &rm) == nil && rm.Kind == cluster.RelayOffer && rm.From == "eu1" {
			select {
			case offers <- rm.Relay:
			default:
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	undo := placeOn(t, eu1, eu2)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"}, "microphone")
	undo()
	bo := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bo"})
	adaID := ada.Self().ID
	receiving(t, bo, adaID, "microphone", 0, 50)
	var relay string
	select {
	case relay = <-offers:
	case <-waitCtx(t).Done():
		t.Fatal("no offer from eu1 to eu2 seen")
	}
	closeIn := func(id string) {
		t.Helper()
		b, _ := json.Marshal(cluster.RelayMessage{Meeting: m.ID, From: "eu2", Kind: cluster.RelayClosedIn, Relay: id})
		if err := nc.Publish(cluster.RelaySubject("eu1"), b); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}

	// Without the relay's ID: nothing happens.
	first := bo.Track(adaID, "microphone")
	closeIn("")
	closeIn("0123456789abcdef")
	receiving(t, bo, adaID, "microphone", packets(bo, adaID, "microphone"), 100)
	if first.Ended() || bo.Track(adaID, "microphone") != first {
		t.Fatal("a close without the relay's ID ended Ada's track on eu2")
	}

	// With it: the relay goes, and comes back.
	closeIn(relay)
	waitFor(t, bo, "Ada's first microphone track ended on Bo's side", first.Ended)
	waitFor(t, bo, "a new track of Ada's microphone", func() bool {
		rt := bo.Track(adaID, "microphone")
		return rt != nil && rt != first && !rt.Ended()
	})
	receiving(t, bo, adaID, "microphone", packets(bo, adaID, "microphone"), 100)
	if to, from := eu1.Signal().RelayNodes(m.ID); !slices.Equal(to, []string{"eu2"}) || !slices.Equal(from, []string{"eu2"}) {
		t.Fatalf("eu1 relays to %v and from %v, want eu2 both ways again", to, from)
	}
}
