package multinode_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/e2ee/e2eetest"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// TestClusterMoveMeeting: an end-to-end encrypted meeting that may be
// held only in "eu" lives on eu1; Ada, its host, is connected to eu1, Bob
// through eu2, which relays him; both publish. Ada created the group and
// added Bob (epoch 1). Through eu2's API an administrator asks to move it
// to us1 (a node outside the meeting's regions): 409 no_node, nothing
// moves. Asked to move it to eu3: 200 {node: eu3}, the placement names
// eu3, eu1 holds no room, both sockets close as at a restart (shutdown,
// the move's message). Both come back with their resume tokens through
// the node they reached (eu1 and eu2 now relay them to eu3): resumed, same
// participant IDs, Ada still host, nobody in the waiting room, the group
// going on at epoch 1 (no e2eeRestart, nobody asked to create one, Bob's
// commit on 1 reaching Ada as 2), media flowing again both ways. The
// audit log has one meeting.moved entry naming eu3. A move off eu1
// (from) once it is on eu3 is 404 not_live, nothing moved. With eu1
// draining, a move off eu3 with no node named, through eu1's API, goes
// to eu2; a move of the meeting then, with nobody back in it, is 404;
// Ada (through eu1, draining) and Bob (through eu2, now the holder) come
// back resumed and media flows both ways.
func TestClusterMoveMeeting(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	eu3 := node(t, "eu3", "eu", natsURL, db, key)
	us1 := node(t, "us1", "us", natsURL, db, key)
	host := eu1.Admin(t)
	set := meeting.DefaultSettings()
	set.E2EE, set.Passcode, set.WaitingRoom = true, false, true
	regions := meeting.Regions{"eu"}
	set.Regions = &regions
	m := host.NewMeeting(t, &set)

	undo := placeOn(t, eu1, eu2, eu3, us1)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada", Cookie: host.Cookie(), KeyPackage: e2eetest.KeyPackage("ada")}, "microphone", "camera")
	undo()
	if !awaitE2EE(t, ada, wire.TypeE2EEJob, 1).Create {
		t.Fatal("Ada, alone, was not asked to create the group")
	}
	ctx := waitCtx(t)
	bob, err := tryJoin(t, eu2, client.Options{Meeting: m.ID, Name: "Bob", KeyPackage: e2eetest.KeyPackage("bob")}, "microphone", "camera")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ada, "Bob in the waiting room", func() bool { return len(ada.WaitingRoom()) == 1 })
	if err := ada.Control("admit", map[string]any{"participant": ada.WaitingRoom()[0].ID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "Bob admitted", func() bool { return bob.Waiting() == "" && bob.Self().ID != "" })
	pumpAll(t, bob, "microphone", "camera")
	if st := eu2.Signal().Stats(); st.Meetings != 0 {
		t.Fatalf("eu2 holds %d meetings; it should relay Bob to eu1", st.Meetings)
	}
	if j := awaitE2EE(t, ada, wire.TypeE2EEJob, 2); j.Epoch != 0 {
		t.Fatalf("Ada's add job on epoch %d", j.Epoch)
	}
	if err := ada.SendRaw(ctx, wire.ClientE2EECommit{Type: wire.TypeE2EECommit, Epoch: 0, Commit: []byte("add bob"), Welcome: []byte("bob's welcome")}); err != nil {
		t.Fatal(err)
	}
	if w := awaitE2EE(t, bob, wire.TypeE2EEWelcome, 1); w.Epoch != 1 {
		t.Fatalf("Bob welcomed at epoch %d", w.Epoch)
	}
	adaID, bobID := ada.Self().ID, bob.Self().ID
	receiving(t, bob, adaID, "camera", 0, 50)
	receiving(t, ada, bobID, "camera", 0, 50)

	// Who is admitted is kept (asynchronously, as always) before the move.
	sealer, err := auth.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db, t.TempDir(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := waitUntil(ctx, func() bool {
		kept, err := st.KeptBefore(context.Background(), meeting.ID(m.ID), "the test")
		return err == nil && len(kept) == 2
	}); err != nil {
		t.Fatalf("the database never kept Ada and Bob: %v", err)
	}

	// Outside the meeting's regions: refused, nothing moved.
	var refused struct{ Error struct{ Code string } }
	if code := doAt(t, host, eu2, "POST", "/api/admin/meetings/"+m.ID+"/move", map[string]string{"node": "us1", "reason": "Maintenance of eu1"}, &refused); code != http.StatusConflict || refused.Error.Code != "no_node" {
		t.Fatalf("moving the meeting to us1: %d %+v, want 409 no_node", code, refused)
	}
	if holder, err := eu2.Cluster().Holder(ctx, meeting.ID(m.ID)); err != nil || holder != "eu1" {
		t.Fatalf("after the refused move the meeting is placed on %q (%v), want eu1", holder, err)
	}
	select {
	case <-ada.Done():
		t.Fatal("Ada's socket closed at a refused move")
	default:
	}

	adaToken, bobToken := ada.ResumeToken(), bob.ResumeToken()
	start := time.Now()
	var moved struct{ Node string }
	if code := doAt(t, host, eu2, "POST", "/api/admin/meetings/"+m.ID+"/move", map[string]string{"node": "eu3", "reason": "Maintenance of eu1"}, &moved); code != http.StatusOK || moved.Node != "eu3" {
		t.Fatalf("moving the meeting to eu3 through eu2: %d %+v, want 200 eu3", code, moved)
	}
	answered := time.Since(start)
	for _, c := range []*client.Client{ada, bob} {
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatalf("%s's socket stayed open after the move", c.Self().Name)
		}
		if r, msg := c.ClosedReason(), c.ClosedMessage(); r != wire.ClosedShutdown || !strings.Contains(msg, "moving") {
			t.Fatalf("%s closed with %q %q, want shutdown and the move's message", c.Self().Name, r, msg)
		}
	}
	if holder, err := eu1.Cluster().Holder(ctx, meeting.ID(m.ID)); err != nil || holder != "eu3" {
		t.Fatalf("after the move the meeting is placed on %q (%v), want eu3", holder, err)
	}
	if st := eu1.Signal().Stats(); st.Meetings != 0 {
		t.Fatalf("eu1 still holds %d meetings after the move", st.Meetings)
	}

	one := uint64(1)
	proof := bytes.Repeat([]byte{7}, 32) // what both clients' MLS state would export for epoch 1
	ada2 := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada", Resume: adaToken, Cookie: host.Cookie(), KeyPackage: e2eetest.KeyPackage("ada 2"), E2EEEpoch: &one, E2EEProof: proof}, "microphone", "camera")
	bob2 := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bob", Resume: bobToken, KeyPackage: e2eetest.KeyPackage("bob 2"), E2EEEpoch: &one, E2EEProof: proof}, "microphone", "camera")
	for _, c := range []*client.Client{ada2, bob2} {
		at, restart := c.E2EEResume()
		if !c.Resumed() || restart || at == nil || *at != 1 || c.Waiting() != "" {
			t.Fatalf("%s's welcome: resumed %v, waiting %q, e2eeRestart %v, e2eeEpoch %v; want resumed, admitted, the group going on at epoch 1",
				c.Self().Name, c.Resumed(), c.Waiting(), restart, at)
		}
	}
	if ada2.Self().Role != "host" || ada2.Self().ID != adaID || bob2.Self().ID != bobID {
		t.Fatalf("back as %+v and %+v", ada2.Self(), bob2.Self())
	}
	if st := eu3.Signal().Stats(); st.Meetings != 1 {
		t.Fatalf("eu3 holds %d meetings after the move, want 1", st.Meetings)
	}
	for _, n := range []*servertest.Server{eu1, eu2} {
		if st := n.Signal().Stats(); st.Meetings != 0 {
			t.Fatalf("%s holds %d meetings after Ada and Bob came back; it should relay them to eu3", n.URL, st.Meetings)
		}
	}
	receiving(t, bob2, adaID, "camera", 0, 50)
	receiving(t, ada2, bobID, "camera", 0, 50)
	receiving(t, bob2, adaID, "microphone", 0, 50)
	receiving(t, ada2, bobID, "microphone", 0, 50)
	t.Logf("move: API answered in %v; media flowing again both ways %v after the move was asked (clients rejoining at once)", answered, time.Since(start))
	for _, c := range []*client.Client{ada2, bob2} {
		if len(c.WaitingRoom()) != 0 {
			t.Fatalf("%s sees %d in the waiting room after the move", c.Self().Name, len(c.WaitingRoom()))
		}
	}

	// The group goes on: Bob's update on epoch 1 reaches Ada as epoch 2.
	if err := bob2.SendRaw(ctx, wire.ClientE2EECommit{Type: wire.TypeE2EECommit, Epoch: 1, Reason: "update", Commit: []byte("bob's update")}); err != nil {
		t.Fatal(err)
	}
	if c := awaitE2EE(t, ada2, wire.TypeE2EECommit, 1); c.Epoch != 2 || c.From != bobID {
		t.Fatalf("Ada got commit %+v, want Bob's to epoch 2", c)
	}
	for _, c := range []*client.Client{ada2, bob2} {
		for _, j := range e2eeMessages(c, wire.TypeE2EEJob) {
			if j.Create {
				t.Fatalf("%s was asked to create a group after the move", c.Self().Name)
			}
		}
	}
	var log struct {
		Entries []struct {
			Action, SubjectID string
			Details           map[string]string
		}
	}
	if code := doAt(t, host, eu1, "GET", "/api/admin/audit", nil, &log); code != http.StatusOK {
		t.Fatalf("audit log: %d", code)
	}
	n := 0
	for _, e := range log.Entries {
		if e.SubjectID == m.ID && e.Action == "meeting.moved" {
			n++
			if e.Details["node"] != "eu3" {
				t.Fatalf("meeting.moved names %q, want eu3", e.Details["node"])
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d meeting.moved entries, want 1", n)
	}

	// Asked to move it off eu1 (from), where it no longer is: 404
	// not_live, nothing moves, nobody is closed.
	refused.Error.Code = ""
	if code := doAt(t, host, eu2, "POST", "/api/admin/meetings/"+m.ID+"/move", map[string]string{"from": "eu1", "reason": "Maintenance of eu1"}, &refused); code != http.StatusNotFound || refused.Error.Code != "not_live" {
		t.Fatalf("moving the meeting off eu1 once it is on eu3: %d %+v, want 404 not_live", code, refused)
	}
	if holder, err := eu1.Cluster().Holder(ctx, meeting.ID(m.ID)); err != nil || holder != "eu3" {
		t.Fatalf("after a move off eu1 refused the meeting is placed on %q (%v), want eu3", holder, err)
	}
	select {
	case <-ada2.Done():
		t.Fatal("Ada's socket closed at a refused move")
	default:
	}

	// With no node named, placement chooses: eu1 drains, eu3 holds it,
	// us1 may not: eu2, asked through eu1's API off eu3.
	eu1.Cluster().SetDraining(true)
	if err := waitUntil(ctx, func() bool {
		nodes, err := eu3.Cluster().Nodes(ctx)
		for _, info := range nodes {
			if info.ID == "eu1" {
				return err == nil && info.Draining
			}
		}
		return false
	}); err != nil {
		t.Fatalf("eu1 never showed draining: %v", err)
	}
	start = time.Now()
	if code := doAt(t, host, eu1, "POST", "/api/admin/meetings/"+m.ID+"/move", map[string]string{"from": "eu3", "reason": "Maintenance of eu3"}, &moved); code != http.StatusOK || moved.Node != "eu2" {
		t.Fatalf("moving the meeting with no node named: %d %+v, want 200 eu2", code, moved)
	}
	for _, c := range []*client.Client{ada2, bob2} {
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatalf("%s's socket stayed open after the second move", c.Self().Name)
		}
	}
	if holder, err := eu1.Cluster().Holder(ctx, meeting.ID(m.ID)); err != nil || holder != "eu2" {
		t.Fatalf("after the second move the meeting is placed on %q (%v), want eu2", holder, err)
	}
	if st := eu3.Signal().Stats(); st.Meetings != 0 {
		t.Fatalf("eu3 holds %d meetings after the second move", st.Meetings)
	}
	adaToken, bobToken = ada2.ResumeToken(), bob2.ResumeToken()
	// Placed on eu2 but nobody back in it yet (no room there): moving it
	// again is 404 not_live, asked of eu2 through eu1.
	refused.Error.Code = ""
	if code := doAt(t, host, eu1, "POST", "/api/admin/meetings/"+m.ID+"/move", map[string]string{"reason": "again"}, &refused); code != http.StatusNotFound || refused.Error.Code != "not_live" {
		t.Fatalf("moving a meeting with no room: %d %+v, want 404 not_live", code, refused)
	}
	// Back again through the nodes they reached: eu2, which relayed Bob
	// to eu3, now holds the meeting; eu1, draining, relays Ada, who comes
	// back, to it.
	ada3 := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada", Resume: adaToken, Cookie: host.Cookie(), KeyPackage: e2eetest.KeyPackage("ada 3"), E2EEEpoch: &one, E2EEProof: proof}, "microphone", "camera")
	bob3 := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bob", Resume: bobToken, KeyPackage: e2eetest.KeyPackage("bob 3"), E2EEEpoch: &one, E2EEProof: proof}, "microphone", "camera")
	for _, c := range []*client.Client{ada3, bob3} {
		if !c.Resumed() || c.Waiting() != "" || c.Self().ID != map[string]string{"Ada": adaID, "Bob": bobID}[c.Self().Name] {
			t.Fatalf("%s after the second move: resumed %v, waiting %q, %+v", c.Self().Name, c.Resumed(), c.Waiting(), c.Self())
		}
	}
	if st := eu2.Signal().Stats(); st.Meetings != 1 {
		t.Fatalf("eu2 holds %d meetings after the second move, want 1", st.Meetings)
	}
	receiving(t, bob3, adaID, "camera", 0, 50)
	receiving(t, ada3, bobID, "camera", 0, 50)
	t.Logf("second move (to eu2, which was Bob's entry node): media flowing again both ways %v after the move was asked", time.Since(start))
}
