package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/web"
)

// nodeWithURL starts a cluster node with the real web client whose
// cluster.public_url is the address it listens on (a port reserved just
// before), so that other nodes may send browsers to it.
func (c *testCluster) nodeWithURL(id, region string) *servertest.Server {
	c.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := c.t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "secret.key"), c.key, 0o600); err != nil {
		c.t.Fatal(err)
	}
	return servertest.Start(c.t, servertest.Options{Web: web.Dist(), Config: func(cfg *config.Config) {
		cfg.Listen = addr
		cfg.Data = data
		cfg.Region = region
		cfg.Database = c.db
		cfg.Cluster.NodeID = id
		cfg.Cluster.PublicURL = "http://" + addr
		cfg.Cluster.NATS.URLs = []string{c.nats}
	}})
}

// TestClusterRegionRedirectBrowser: the invite link of a meeting held only
// in "eu", opened on the "us" node, takes the browser to the eu node's
// pre-join page for the same meeting, the link's passcode carried over
// (its fragment kept), after one line saying why.
func TestClusterRegionRedirectBrowser(t *testing.T) {
	c := newCluster(t)
	eu := c.nodeWithURL("eu1", "eu")
	us := c.nodeWithURL("us1", "us")
	set := servertest.OpenSettings()
	set.Passcode = true
	set.Regions = &meeting.Regions{"eu"}
	m := eu.Admin(t).NewMeeting(t, set)
	if m.Passcode == "" {
		t.Fatal("the meeting has no passcode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		nodes, err := us.Cluster().Nodes(ctx)
		if err == nil && len(nodes) == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the us node never saw both nodes: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}

	una := newTab(t, "Una")
	link := fmt.Sprintf("%s/m/%s#pwd=%s&e2ee=0", us.URL, m.ID, m.Passcode)
	una.run("open the invite on the us node", chromedp.Navigate(link))
	una.waitJS("to be taken to the eu node", fmt.Sprintf(`location.origin === %q && location.pathname === %q`, eu.URL, "/m/"+m.ID))
	una.waitVisible("the eu node's pre-join screen", "#display-name")
	var kept string
	if err := una.eval(fmt.Sprintf(`sessionStorage.getItem(%q) ?? ""`, "kaigi.passcode."+m.ID), &kept); err != nil || kept != m.Passcode {
		t.Fatalf("the eu node's page keeps passcode %q (err %v), want the link's %q", kept, err, m.Passcode)
	}
	if n := una.count("#passcode"); n != 0 {
		t.Error("the eu node's page asks for the passcode although the link carried it")
	}
}
