package multinode_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/clustertest"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// proxy forwards TCP connections from a new listener on host (a free
// port) to target, until the test ends, and returns the listener's
// address: the nodes' namespaces reach the test's PostgreSQL, which
// listens on its loopback, through it.
func proxy(t *testing.T, host, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				d, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer d.Close()
				go io.Copy(d, c)
				io.Copy(c, d)
			}()
		}
	}()
	return ln.Addr().String()
}

// nsNode is `kaigi serve` in a network namespace of its own.
type nsNode struct {
	*clustertest.Node
	*servertest.Server // URL and the account helpers
}

func startNSNode(t *testing.T, network *clustertest.Network, id, region, natsURL, db, key string) *nsNode {
	t.Helper()
	data := t.TempDir()
	copyKey(t, key, data)
	cfg := fmt.Sprintf("region: %s\ndatabase: %q\ncluster:\n  node_id: %s\n  nats:\n    urls: [%q]\n", region, db, id, natsURL)
	file := filepath.Join(t.TempDir(), "kaigi.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	n := network.Start(id, nil, servertest.Binary(t), "serve", "--listen", "0.0.0.0:8080", "--data", data, "--config", file)
	node := &nsNode{Node: n, Server: &servertest.Server{URL: "http://" + net.JoinHostPort(n.Addr.String(), "8080")}}
	err := waitUntil(waitCtx(t), func() bool {
		select {
		case <-n.Done():
			return true
		default:
		}
		resp, err := http.Get(node.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	select {
	case <-n.Done():
		t.Fatalf("%s exited: %v\n%s", id, n.Err(), n.Output())
	default:
	}
	if err != nil {
		t.Fatalf("%s did not answer: %v\n%s", id, err, n.Output())
	}
	return node
}

// TestClusterProcessesInNamespaces: three `kaigi serve` processes, each
// in its own network namespace on a bridge (regions eu, eu, us), one NATS
// server and one PostgreSQL. A meeting that may be held only in "eu":
// participants through both eu nodes receive each other's media (one of
// them relayed to the node holding it), none of it lost; one through the us node is
// refused; the node holding the meeting is killed (SIGKILL) and the
// participant relayed through the other eu node resumes there and
// receives media again (the time is reported).
func TestClusterProcessesInNamespaces(t *testing.T) {
	network := clustertest.NewNetwork(t)
	gw := network.Gateway.String()
	natsURL := startNATSOn(t, gw)
	db := pgtest.NewDatabase(t)
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = proxy(t, gw, u.Host)
	db = u.String()
	key := clusterKey(t)
	eu1 := startNSNode(t, network, "eu1", "eu", natsURL, db, key)
	eu2 := startNSNode(t, network, "eu2", "eu", natsURL, db, key)
	us1 := startNSNode(t, network, "us1", "us", natsURL, db, key)
	nodes := map[string]*nsNode{"eu1": eu1, "eu2": eu2}

	set := servertest.OpenSettings()
	regions := meeting.Regions{"eu"}
	set.Regions = &regions
	m := eu1.Admin(t).NewMeeting(t, set)

	adaSeq, cySeq := newSeqLog(), newSeqLog()
	ada := join(t, eu1.Server, client.Options{Meeting: m.ID, Name: "Ada", Observe: adaSeq.observe}, "microphone", "camera")
	cy := join(t, eu2.Server, client.Options{Meeting: m.ID, Name: "Cy", Observe: cySeq.observe}, "microphone", "camera")
	adaID, cyID := ada.Self().ID, cy.Self().ID
	for _, src := range []string{"microphone", "camera"} {
		receiving(t, ada, cyID, src, 0, 100)
		receiving(t, cy, adaID, src, 0, 100)
	}
	// Nothing missing either way, one of them relayed between the nodes
	// over the bridge (counted between each track's first and last
	// packet received, after NACKs had their chance).
	for _, c := range []struct {
		who       string
		log       *seqLog
		publisher string
	}{{"Ada", adaSeq, cyID}, {"Cy", cySeq, adaID}} {
		for _, src := range []string{"microphone", "camera"} {
			if lost, got := c.log.lost(c.publisher, src); lost != 0 || got == 0 {
				t.Errorf("%s: %d of %s's %s packets missing (%d received)", c.who, lost, c.publisher, src, got)
			}
		}
	}
	_, err = tryJoin(t, us1.Server, client.Options{Meeting: m.ID, Name: "Una"})
	var refused *client.Refused
	if !errors.As(err, &refused) || refused.Code != "region_not_allowed" {
		t.Fatalf("Una through us1: %v; want refused region_not_allowed", err)
	}

	// Which eu node holds the meeting: the other one relays.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), "kaigi_placements")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var placed struct{ Node string }
	if err := jsonUnmarshal(e.Value(), &placed); err != nil || nodes[placed.Node] == nil {
		t.Fatalf("placement %s (%v), want eu1 or eu2", e.Value(), err)
	}
	holder, relayed, relayedVia, token := eu1, cy, eu2, cy.ResumeToken()
	if placed.Node == "eu2" {
		holder, relayed, relayedVia, token = eu2, ada, eu1, ada.ResumeToken()
	}
	relayedID, otherID := relayed.Self().ID, adaID
	if relayedID == adaID {
		otherID = cyID
	}
	t.Logf("the meeting is held on %s; %s is relayed through %s", placed.Node, relayed.Self().Name, relayedVia.Node.Name)

	killed := time.Now()
	holder.Kill()
	select {
	case <-relayed.Done():
	case <-waitCtx(t).Done():
		t.Fatal("the relayed socket stayed open after the meeting's node died")
	}
	noticed := time.Since(killed)
	back := join(t, relayedVia.Server, client.Options{Meeting: m.ID, Name: relayed.Self().Name, Resume: token}, "microphone", "camera")
	if !back.Resumed() || back.Self().ID != relayedID {
		t.Fatalf("came back as %+v (resumed %v), want %s", back.Self(), back.Resumed(), relayedID)
	}
	resumed := time.Since(killed)
	// The other participant's browser reaches the surviving node too.
	var otherToken string
	if otherID == adaID {
		otherToken = ada.ResumeToken()
	} else {
		otherToken = cy.ResumeToken()
	}
	other := join(t, relayedVia.Server, client.Options{Meeting: m.ID, Name: "Other", Resume: otherToken}, "microphone", "camera")
	if !other.Resumed() || other.Self().ID != otherID {
		t.Fatalf("the other participant came back as %+v (resumed %v), want %s", other.Self(), other.Resumed(), otherID)
	}
	receiving(t, back, otherID, "camera", 0, 50)
	receiving(t, other, relayedID, "camera", 0, 50)
	t.Logf("after %s's kill: the relayed socket closed after %v, resumed after %v, media both ways after %v",
		placed.Node, noticed.Round(time.Millisecond), resumed.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
}
