package multinode_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// nodeWithURL is node with cluster.public_url set to the address it
// listens on (a port reserved just before it starts), so that it is a
// redirect target.
func nodeWithURL(t *testing.T, id, region, natsURL, db, keyFrom string) *servertest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	copyKey(t, keyFrom, data)
	s := servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.Listen = addr
		c.Data = data
		c.Region = region
		c.Database = db
		c.Cluster.NodeID = id
		c.Cluster.PublicURL = "http://" + addr
		c.Cluster.NATS.URLs = []string{natsURL}
	}})
	if s.URL != "http://"+addr {
		t.Fatalf("%s listens at %s, not at its public URL http://%s", id, s.URL, addr)
	}
	return s
}

// refusedThrough joins through srv and returns the refusal, failing the
// test unless it is region_not_allowed.
func refusedThrough(t *testing.T, srv *servertest.Server, meetingID, name string) *client.Refused {
	t.Helper()
	_, err := tryJoin(t, srv, client.Options{Meeting: meetingID, Name: name})
	var refused *client.Refused
	if !errors.As(err, &refused) || refused.Code != "region_not_allowed" || refused.Message == "" {
		t.Fatalf("%s through %s: %v; want refused region_not_allowed", name, srv.URL, err)
	}
	return refused
}

// admissionRedirect is the pre-join check's regionRedirect on srv, failing
// the test unless the check says the node may not hold the meeting.
func admissionRedirect(t *testing.T, srv *servertest.Server, meetingID string) string {
	t.Helper()
	resp, err := http.Get(srv.URL + "/api/meetings/" + meetingID + "/admission?device=d1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		RegionNotAllowed string `json:"regionNotAllowed"`
		RegionRedirect   string `json:"regionRedirect"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK || a.RegionNotAllowed == "" {
		t.Fatalf("admission check on %s: %d %+v %v; want a region refusal", srv.URL, resp.StatusCode, a, err)
	}
	return a.RegionRedirect
}

// awaitRegistry waits until node's view of the registry satisfies cond.
func awaitRegistry(t *testing.T, node *servertest.Server, what string, cond func(byID map[string]bool) bool) {
	t.Helper()
	err := waitUntil(waitCtx(t), func() bool {
		nodes, err := node.Cluster().Nodes(context.Background())
		if err != nil {
			return false
		}
		live := map[string]bool{} // ID → draining
		for _, info := range nodes {
			live[info.ID] = info.Draining
		}
		return cond(live)
	})
	if err != nil {
		t.Fatalf("the registry never showed %s: %v", what, err)
	}
}

// TestClusterRegionRedirect: a meeting that may be held only in "eu".
// Someone reaching the us node is refused with the URL of the eu node
// (the least loaded of the eu nodes that announce one; eu2 announces
// none and is never a target), and joins the meeting there with it.
// With the eu node draining, then gone, the refusal carries no URL: the
// clear refusal as before.
func TestClusterRegionRedirect(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := nodeWithURL(t, "eu1", "eu", natsURL, db, key)
	node(t, "eu2", "eu", natsURL, db, key) // no cluster.public_url
	us := nodeWithURL(t, "us1", "us", natsURL, db, key)
	set := servertest.OpenSettings()
	regions := meeting.Regions{"eu"}
	set.Regions = &regions
	m := eu1.Admin(t).NewMeeting(t, set)
	// eu1 busier than eu2: eu2 would win on load alone, but has no URL.
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"})
	awaitRegistry(t, us, "the three nodes", func(live map[string]bool) bool { return len(live) == 3 })

	if to := admissionRedirect(t, us, m.ID); to != eu1.URL {
		t.Fatalf("the us node's pre-join check sends the browser to %q, want eu1 at %s", to, eu1.URL)
	}
	refused := refusedThrough(t, us, m.ID, "Una")
	if refused.Redirect != eu1.URL {
		t.Fatalf("the us node sends Una to %q, want eu1 at %s", refused.Redirect, eu1.URL)
	}
	ctx, cancel := context.WithTimeout(waitCtx(t), 15*time.Second)
	defer cancel()
	una, err := client.Join(ctx, client.Options{BaseURL: refused.Redirect, Meeting: m.ID, Name: "Una"})
	if err != nil {
		t.Fatalf("Una joins at the redirect %s: %v", refused.Redirect, err)
	}
	t.Cleanup(una.Close)
	waitFor(t, ada, "Una in the meeting", func() bool { return participant(ada, una.Self().ID).ID != "" })
	if st := us.Signal().Stats(); st.Meetings != 0 || st.Participants != 0 {
		t.Fatalf("the us node holds %d meetings, %d participants", st.Meetings, st.Participants)
	}

	// A draining eu node is no target.
	eu1.Cluster().SetDraining(true)
	awaitRegistry(t, us, "eu1 draining", func(live map[string]bool) bool { return live["eu1"] })
	if r := refusedThrough(t, us, m.ID, "Vic"); r.Redirect != "" {
		t.Fatalf("Vic is sent to %q while eu1 drains (and eu2 has no URL)", r.Redirect)
	}
	if to := admissionRedirect(t, us, m.ID); to != "" {
		t.Fatalf("the pre-join check sends the browser to %q while eu1 drains", to)
	}
	// Nor a gone one.
	eu1.Cluster().Close()
	awaitRegistry(t, us, "eu1 gone", func(live map[string]bool) bool { _, up := live["eu1"]; return !up && len(live) == 2 })
	if r := refusedThrough(t, us, m.ID, "Wes"); r.Redirect != "" {
		t.Fatalf("Wes is sent to %q with eu1 gone (and eu2 has no URL)", r.Redirect)
	}
}
