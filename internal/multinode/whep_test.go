package multinode_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/whip/whiptest"
)

// TestClusterWHEPGoesToTheMeetingsNode: a WHEP request to a node that does
// not hold the meeting opens nothing there and is redirected (307) to the
// meeting's node, as a WHIP one is; a program that follows the redirect
// watches there, receives the meeting's published media, and is in the
// roster as a viewer; its DELETE goes to that node.
func TestClusterWHEPGoesToTheMeetingsNode(t *testing.T) {
	natsURL := startNATS(t)
	db := pgtest.NewDatabase(t)
	key := clusterKey(t)
	eu1 := whipNode(t, "eu1", "eu", natsURL, db, key)
	eu2 := node(t, "eu2", "eu", natsURL, db, key)
	admin := eu1.Admin(t)
	m := admin.NewMeeting(t, servertest.OpenSettings())
	undo := placeOn(t, eu1, eu2)
	ada := join(t, eu1, client.Options{Meeting: m.ID, Name: "Ada"})
	undo()
	cam, err := ada.Publish("camera")
	if err != nil {
		t.Fatal(err)
	}
	ctx := waitCtx(t)
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go cam.Pump(pctx, client.VideoPump)

	var tok struct{ URL, Token string }
	if code := admin.Do(t, "POST", "/api/meetings/"+m.ID+"/egress", map[string]any{"name": "Stage screen"}, &tok); code != http.StatusCreated {
		t.Fatalf("create an egress token: %d", code)
	}
	_, offer, err := whiptest.WatchOffer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(ctx, "POST", eu2.URL+"/whep/"+m.ID, strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := eu1.URL + "/whep/" + m.ID; res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != want {
		t.Fatalf("through eu2: %d, Location %q; want 307 to %s", res.StatusCode, res.Header.Get("Location"), want)
	}
	if st := eu2.Signal().Stats(); st.Meetings != 0 {
		t.Fatalf("eu2 holds %d meetings, want none", st.Meetings)
	}

	v, err := whiptest.Watch(ctx, eu2.URL+"/whep/"+m.ID, tok.Token)
	if err != nil {
		t.Fatalf("watch through eu2, redirected: %v", err)
	}
	defer v.Close()
	if !strings.HasPrefix(v.Location, eu1.URL+"/whep/"+m.ID+"/") {
		t.Fatalf("the session's resource is %q, not on eu1", v.Location)
	}
	waitFor(t, ada, "the viewer in Ada's roster", func() bool {
		for _, p := range ada.Roster() {
			if p.Viewer && p.Ingest {
				return true
			}
		}
		return false
	})
	for {
		if _, vid := v.Packets(); vid >= 30 {
			break
		}
		select {
		case <-v.Arrived():
		case <-ctx.Done():
			t.Fatalf("the viewer got no video from eu1: %v", ctx.Err())
		}
	}
	if code, err := v.Delete(ctx); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE on eu1: %d %v", code, err)
	}
}
