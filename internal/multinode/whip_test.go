package multinode_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/whip/whiptest"
)

// whipNode is node with a cluster.public_url, the address it listens on.
func whipNode(t *testing.T, id, region, natsURL, db, keyFrom string) *servertest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	copyKey(t, keyFrom, data)
	return servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.Listen, c.Data, c.Region, c.Database = addr, data, region, db
		c.Cluster.NodeID, c.Cluster.PublicURL, c.Cluster.NATS.URLs = id, "http://"+addr, []string{natsURL}
	}})
}

// TestClusterWHIPGoesToTheMeetingsNode: a source's media is not relayed
// between nodes, so a WHIP request that reaches a node not holding the
// meeting opens nothing there: it is redirected (307, RFC 9725 section
// 4.6) to the meeting's node when that node has a public URL, and refused
// with wrong_node when it has none. A program that follows the redirect
// publishes on the meeting's node, and its participants see the source.
func TestClusterWHIPGoesToTheMeetingsNode(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := whipNode(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key) // no public URL
	admin := eu1.Admin(t)
	onEU1 := admin.NewMeeting(t, servertest.OpenSettings())
	onEU2 := admin.NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, eu2)
	ada := join(t, eu1, client.Options{Meeting: onEU1.ID, Name: "Ada"})
	undo()
	undo = placeOn(t, eu2, eu1)
	join(t, eu2, client.Options{Meeting: onEU2.ID, Name: "Bob"})
	undo()
	token := func(id string) (string, string) {
		var tok struct{ URL, Token string }
		if code := admin.Do(t, "POST", "/api/meetings/"+id+"/ingest", map[string]any{"name": "Stage camera"}, &tok); code != http.StatusCreated {
			t.Fatalf("create an ingest token: %d", code)
		}
		return tok.URL, tok.Token
	}
	ctx := waitCtx(t)
	_, offer, err := whiptest.Offer(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Through eu2 to eu1's meeting: redirected, nothing opened on eu2.
	_, tok := token(onEU1.ID)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(ctx, "POST", eu2.URL+"/whip/"+onEU1.ID, strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := eu1.URL + "/whip/" + onEU1.ID; res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != want {
		t.Fatalf("through eu2: %d, Location %q; want 307 to %s", res.StatusCode, res.Header.Get("Location"), want)
	}
	if st := eu2.Signal().Stats(); st.Meetings != 1 {
		t.Fatalf("eu2 holds %d meetings, want only its own", st.Meetings)
	}
	// A program that follows the redirect publishes on eu1.
	pub, err := whiptest.Publish(ctx, eu2.URL+"/whip/"+onEU1.ID, tok)
	if err != nil {
		t.Fatalf("publish through eu2, redirected: %v", err)
	}
	defer pub.Close()
	pub.Pump(context.Background(), func(n int) [][]byte { return [][]byte{make([]byte, 200)} })
	if !strings.HasPrefix(pub.Location, eu1.URL+"/whip/"+onEU1.ID+"/") {
		t.Fatalf("the session's resource is %q, not on eu1", pub.Location)
	}
	waitFor(t, ada, "the source in Ada's roster", func() bool {
		for _, p := range ada.Roster() {
			if p.Ingest {
				return true
			}
		}
		return false
	})
	if code, err := pub.Delete(ctx); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE on eu1: %d %v", code, err)
	}

	// Through eu1 to eu2's meeting: eu2 has no public URL, so no redirect.
	url2, tok2 := token(onEU2.ID)
	if strings.HasPrefix(url2, eu2.URL) {
		t.Logf("the token's URL names eu2 (%s)", url2)
	}
	res2, err := whiptest.Post(ctx, eu1.URL+"/whip/"+onEU2.ID, tok2, "application/sdp", offer)
	if err != nil || res2.Status != http.StatusConflict || !strings.Contains(res2.Body, `"code":"wrong_node"`) {
		t.Fatalf("through eu1 to eu2's meeting: %+v %v", res2, err)
	}
}
