package multinode_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// nodeProcess starts `kaigi serve` as cluster node id in region, on the
// NATS server at natsURL and the PostgreSQL database db, in its own
// process (killed with SIGKILL by the test or when it ends), with the
// secret.key of the directory key.
func nodeProcess(t *testing.T, id, region, natsURL, db, key string) *servertest.Process {
	t.Helper()
	data := t.TempDir() // given again: the last --data wins
	copyKey(t, key, data)
	cfg := fmt.Sprintf("region: %s\ndatabase: %q\ncluster:\n  node_id: %s\n  nats:\n    urls: [%q]\n", region, db, id, natsURL)
	file := filepath.Join(t.TempDir(), "kaigi.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return servertest.StartProcess(t, servertest.Binary(t), "--config", file, "--data", data)
}

func participant(c *client.Client, id string) client.Participant {
	for _, p := range c.Roster() {
		if p.ID == id {
			return p
		}
	}
	return client.Participant{}
}

func waitFor(t *testing.T, c *client.Client, what string, cond func() bool) {
	t.Helper()
	if err := c.WaitFor(waitCtx(t), what, cond); err != nil {
		t.Fatal(err)
	}
}

// TestClusterNodeLossResume: the meeting lives on eu1, a `kaigi serve`
// process; its host Ada is connected to eu1, and Cy, whom she let in from
// the waiting room and made co-host, through eu2, which relays him. eu1
// is killed (SIGKILL). eu2 sees it leave the registry, closes Cy's socket
// as at a restart, and Cy resumes through eu2: the meeting is placed
// again (on eu2, the only node left), opened from the database as after
// a crash, and Cy is back as himself, co-host, not waiting. Ada's browser
// reaches eu2 too and is back as host; media flows between them again.
// The test reports how long each step took after the kill.
func TestClusterNodeLossResume(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := nodeProcess(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	host := eu2.Admin(t)
	set := meeting.DefaultSettings() // passcode and waiting room
	set.E2EE = false
	m := host.NewMeeting(t, &set)

	undo := placeOn(t, eu2, eu2)
	ada := join(t, eu1.Server, client.Options{Meeting: m.ID, Name: "Ada", Cookie: host.Cookie()}, "microphone", "camera")
	undo()
	cy := join(t, eu2, client.Options{Meeting: m.ID, Name: "Cy", Passcode: m.Passcode}, "microphone", "camera")
	if cy.Waiting() != "waiting_room" {
		t.Fatalf("Cy: waiting %q, want the waiting room", cy.Waiting())
	}
	if st := eu2.Signal().Stats(); st.Meetings != 0 {
		t.Fatalf("eu2 holds %d meetings; it should relay Cy to eu1", st.Meetings)
	}
	waitFor(t, ada, "Cy waiting", func() bool { return len(ada.WaitingRoom()) == 1 })
	ada.Control("admit", map[string]any{"all": true})
	waitFor(t, cy, "Cy admitted and publishing", func() bool {
		return cy.Waiting() == "" && cy.Self().ID != "" && cy.Local("microphone") != nil && cy.Local("camera") != nil
	})
	pumpAll(t, cy, "microphone", "camera")
	adaID, cyID := ada.Self().ID, cy.Self().ID
	ada.Control("set_role", map[string]any{"participant": cyID, "role": "cohost"})
	waitFor(t, cy, "Cy co-host", func() bool { return participant(cy, cyID).Role == "cohost" })
	receiving(t, cy, adaID, "camera", 0, 50)
	receiving(t, ada, cyID, "camera", 0, 50)

	// What eu1 keeps is written behind the meeting's back: wait until
	// the shared database says what the meeting does.
	sealer, err := auth.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db, t.TempDir(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = waitUntil(waitCtx(t), func() bool {
		kept, err := st.KeptBefore(context.Background(), meeting.ID(m.ID), "the test")
		roles := map[meeting.ParticipantID]meeting.Role{}
		for _, k := range kept {
			roles[k.Participant.ID] = k.Participant.Role
		}
		return err == nil && len(kept) == 2 && roles[meeting.ParticipantID(adaID)] == meeting.RoleHost &&
			roles[meeting.ParticipantID(cyID)] == meeting.RoleCoHost
	})
	if err != nil {
		t.Fatalf("the database never kept Ada as host and Cy as co-host: %v", err)
	}

	adaToken, cyToken := ada.ResumeToken(), cy.ResumeToken()
	killed := time.Now()
	eu1.Kill()

	// eu2 notices eu1 is gone (its record expires) and closes Cy's socket
	// as at a restart.
	select {
	case <-cy.Done():
	case <-waitCtx(t).Done():
		t.Fatal("Cy's socket through eu2 stayed open after eu1 died")
	}
	noticed := time.Since(killed)
	if r := cy.ClosedReason(); r != "shutdown" {
		t.Fatalf("Cy's socket closed with %q, want shutdown (clients resume)", r)
	}
	cy2 := join(t, eu2, client.Options{Meeting: m.ID, Name: "Cy", Resume: cyToken}, "microphone", "camera")
	cyBack := time.Since(killed)
	if !cy2.Resumed() || cy2.Waiting() != "" || cy2.Self().ID != cyID || cy2.Self().Role != "cohost" {
		t.Fatalf("Cy came back as %+v (resumed %v, waiting %q); want %s, co-host, admitted", cy2.Self(), cy2.Resumed(), cy2.Waiting(), cyID)
	}
	if st := eu2.Signal().Stats(); st.Meetings != 1 {
		t.Fatalf("eu2 holds %d meetings, want the one it took over", st.Meetings)
	}
	ada2 := join(t, eu2, client.Options{Meeting: m.ID, Name: "Ada", Resume: adaToken, Cookie: host.Cookie()}, "microphone", "camera")
	if !ada2.Resumed() || ada2.Self().ID != adaID || ada2.Self().Role != "host" {
		t.Fatalf("Ada came back as %+v (resumed %v); want %s, host", ada2.Self(), ada2.Resumed(), adaID)
	}
	receiving(t, cy2, adaID, "camera", 0, 50)
	receiving(t, ada2, cyID, "camera", 0, 50)
	mediaBack := time.Since(killed)
	if info, err := eu2.Cluster().Place(context.Background(), meeting.ID(m.ID), nil, false); err != nil || info.ID != "eu2" {
		t.Fatalf("the meeting is placed on %q (%v), want eu2", info.ID, err)
	}
	t.Logf("after eu1's kill: eu2 closed Cy's relayed socket after %v, Cy was back (co-host) after %v, media flowed both ways again after %v",
		noticed.Round(time.Millisecond), cyBack.Round(time.Millisecond), mediaBack.Round(time.Millisecond))
}
