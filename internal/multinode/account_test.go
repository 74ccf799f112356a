package multinode_test

import (
	"net/http"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// signOutEverywhere signs the account out everywhere through srv (which
// need not be the node it signed in on: the nodes share the database).
func signOutEverywhere(t *testing.T, srv *servertest.Server, a *servertest.Account) {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+"/api/auth/signout-everywhere", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", a.Cookie())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("%s signs out everywhere through %s: %d", a, srv.URL, resp.StatusCode)
	}
}

// TestClusterAccountEndedOnAnotherNode: an account's participation ended
// on one node ends it in meetings held on another. The meeting is on eu1.
// Dan is connected to eu1 and signs out everywhere through eu2; Bob is
// relayed through eu2 and signs out everywhere through eu1. Both sockets
// close with signed_out; the host stays.
func TestClusterAccountEndedOnAnotherNode(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := node(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	admin := eu1.Admin(t)
	dan := eu1.NewAccount(t, "dan@example.org", "Dan")
	bob := eu1.NewAccount(t, "bob@example.org", "Bob")
	m := admin.NewMeeting(t, servertest.OpenSettings())

	undo := placeOn(t, eu1, eu2)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada", Cookie: admin.Cookie()})
	undo()
	danC := join(t, eu1, client.Options{Meeting: m.ID, Name: "Dan", Cookie: dan.Cookie()})
	bobC := join(t, eu2, client.Options{Meeting: m.ID, Name: "Bob", Cookie: bob.Cookie()})
	if st := eu1.Signal().Stats(); st.Meetings != 1 || st.Participants != 3 {
		t.Fatalf("eu1 holds %d meetings with %d participants, want 1 with 3", st.Meetings, st.Participants)
	}

	signOutEverywhere(t, eu2, dan)
	select {
	case <-danC.Done():
	case <-waitCtx(t).Done():
		t.Fatal("Dan's socket on eu1 stayed open after he signed out everywhere through eu2")
	}
	if r := danC.ClosedReason(); r != "signed_out" {
		t.Fatalf("Dan's socket closed with %q, want signed_out", r)
	}

	signOutEverywhere(t, eu1, bob)
	select {
	case <-bobC.Done():
	case <-waitCtx(t).Done():
		t.Fatal("Bob's socket relayed through eu2 stayed open after he signed out everywhere through eu1")
	}
	if r := bobC.ClosedReason(); r != "signed_out" {
		t.Fatalf("Bob's socket closed with %q, want signed_out", r)
	}
	waitFor(t, ada, "only Ada left", func() bool { return len(ada.Roster()) == 1 })
}
