package multinode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/e2ee/e2eetest"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// lastJob is the last e2ee_job c was sent, in full.
func lastJob(c *client.Client) (wire.E2EEJob, bool) {
	var job wire.E2EEJob
	found := false
	for _, raw := range c.E2EEMessages() {
		var j wire.E2EEJob
		if json.Unmarshal(raw, &j) == nil && j.Type == wire.TypeE2EEJob {
			job, found = j, true
		}
	}
	return job, found
}

// TestClusterNodeLossE2EEGroupGoesOn: an end-to-end encrypted meeting
// lives on eu1 (a `kaigi serve` process); Ada is connected to it, Bob
// through eu2, which relays him. Ada created the group and added Bob
// (epoch 1; the Go clients' MLS is opaque bytes, which is all the server
// sees). eu1 is killed. Both come back through eu2, which takes the
// meeting over, each saying in hello that its group is at epoch 1 with
// that epoch's resume proof: the welcome says the group goes on at 1
// (no e2eeRestart), nobody is asked to create a group, Bob's next commit
// is on epoch 1 and reaches Ada as epoch 2, and a joiner is added by a
// member's commit on epoch 2.
func TestClusterNodeLossE2EEGroupGoesOn(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := nodeProcess(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	host := eu2.Admin(t)
	set := meeting.DefaultSettings()
	set.E2EE, set.Passcode, set.WaitingRoom = true, false, false
	m := host.NewMeeting(t, &set)

	undo := placeOn(t, eu2, eu2)
	ada := join(t, eu1.Server, client.Options{Meeting: m.ID, Name: "Ada", Cookie: host.Cookie(), KeyPackage: e2eetest.KeyPackage("ada")})
	undo()
	if !awaitE2EE(t, ada, wire.TypeE2EEJob, 1).Create {
		t.Fatal("Ada, alone, was not asked to create the group")
	}
	bob := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bob", KeyPackage: e2eetest.KeyPackage("bob")})
	if st := eu2.Signal().Stats(); st.Meetings != 0 {
		t.Fatalf("eu2 holds %d meetings; it should relay Bob to eu1", st.Meetings)
	}
	if j := awaitE2EE(t, ada, wire.TypeE2EEJob, 2); j.Epoch != 0 {
		t.Fatalf("Ada's add job on epoch %d", j.Epoch)
	}
	ctx := waitCtx(t)
	if err := ada.SendRaw(ctx, wire.ClientE2EECommit{Type: wire.TypeE2EECommit, Epoch: 0, Commit: []byte("add bob"), Welcome: []byte("bob's welcome")}); err != nil {
		t.Fatal(err)
	}
	if w := awaitE2EE(t, bob, wire.TypeE2EEWelcome, 1); w.Epoch != 1 {
		t.Fatalf("Bob welcomed at epoch %d", w.Epoch)
	}
	adaID, bobID := ada.Self().ID, bob.Self().ID

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

	adaToken, bobToken := ada.ResumeToken(), bob.ResumeToken()
	eu1.Kill()
	select {
	case <-bob.Done():
	case <-ctx.Done():
		t.Fatal("Bob's socket through eu2 stayed open after eu1 died")
	}

	one := uint64(1)
	proof := bytes.Repeat([]byte{7}, 32) // what both clients' MLS state would export for epoch 1
	bob2 := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bob", Resume: bobToken, KeyPackage: e2eetest.KeyPackage("bob 2"), E2EEEpoch: &one, E2EEProof: proof})
	ada2 := join(t, eu2, client.Options{Meeting: m.ID, Name: "Ada", Resume: adaToken, Cookie: host.Cookie(), KeyPackage: e2eetest.KeyPackage("ada 2"), E2EEEpoch: &one, E2EEProof: proof})
	for _, c := range []*client.Client{bob2, ada2} {
		at, restart := c.E2EEResume()
		if !c.Resumed() || restart || at == nil || *at != 1 {
			t.Fatalf("%s's welcome: resumed %v, e2eeRestart %v, e2eeEpoch %v; want the group to go on at epoch 1", c.Self().Name, c.Resumed(), restart, at)
		}
	}
	if ada2.Self().Role != "host" || ada2.Self().ID != adaID || bob2.Self().ID != bobID {
		t.Fatalf("back as %+v and %+v", ada2.Self(), bob2.Self())
	}

	// The group goes on: Bob's key update on epoch 1 reaches Ada as epoch 2.
	if err := bob2.SendRaw(ctx, wire.ClientE2EECommit{Type: wire.TypeE2EECommit, Epoch: 1, Reason: "update", Commit: []byte("bob's update")}); err != nil {
		t.Fatal(err)
	}
	if c := awaitE2EE(t, ada2, wire.TypeE2EECommit, 1); c.Epoch != 2 || c.From != bobID {
		t.Fatalf("Ada got commit %+v, want Bob's to epoch 2", c)
	}
	// A joiner is added by a member's commit, on the continued epoch.
	dan := join(t, eu2, client.Options{Meeting: m.ID, Name: "Dan", KeyPackage: e2eetest.KeyPackage("dan")})
	err = bob2.WaitFor(ctx, "Bob asked to add Dan", func() bool {
		j, ok := lastJob(bob2)
		return ok && len(j.Add) == 1 && j.Add[0].Participant == dan.Self().ID
	})
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := lastJob(bob2); j.Create || j.Epoch != 2 {
		t.Fatalf("Bob's job: %+v, want an add on epoch 2", j)
	}
	for _, c := range []*client.Client{ada2, bob2} {
		for _, j := range e2eeMessages(c, wire.TypeE2EEJob) {
			if j.Create {
				t.Fatalf("%s was asked to create a group after the node loss", c.Self().Name)
			}
		}
	}
}
