// Package cluster joins Kaigi nodes over NATS (issue 17): a node runs an
// embedded NATS server in-process (JetStream on, its store in the data
// directory, no listening port unless configured) or connects to an
// external NATS cluster, and then
//
//   - keeps its record in the node registry, a JetStream key-value bucket
//     (BucketNodes) whose entries expire after NodeTTL: every Heartbeat
//     the node writes its ID, region, public URL, version, start time,
//     whether it drains, and its load, so a node that dies disappears
//     within NodeTTL (Nodes lists the live ones);
//   - places meetings in a second bucket (BucketPlacements): Place returns
//     the node that hosts a meeting, an existing placement if its node is
//     alive and allowed, else the least-loaded allowed node that is not
//     draining, claimed with a compare-and-set so nodes racing to place
//     the same meeting agree. Release forgets a meeting's placement when
//     it ends; placements on nodes that are gone are replaced by the next
//     Place and removed by a periodic sweep.
//
// Regions follow internal/meeting (RegionRefusal): a node may hold a
// meeting only if its region is allowed.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The JetStream key-value buckets of a cluster (docs/protocol.md, "NATS
// subjects and buckets").
const (
	// BucketNodes holds one entry a live node, keyed by node ID.
	BucketNodes = "kaigi_nodes"
	// BucketPlacements holds one entry a placed meeting, keyed by meeting ID.
	BucketPlacements = "kaigi_placements"
)

// Defaults of Options.
const (
	DefaultHeartbeat  = 2 * time.Second
	DefaultNodeTTL    = 6 * time.Second
	DefaultSweepEvery = 30 * time.Second
)

// NATS is how a node reaches NATS: an embedded server (URLs empty) or an
// external cluster.
type NATS struct {
	// URLs of the external cluster's servers; empty: run an embedded one.
	URLs []string
	// CAFile, CertFile and KeyFile are PEM files for TLS to the external
	// cluster (its CA; this node's certificate and key if it asks).
	CAFile, CertFile, KeyFile string
	// CredsFile is a NATS credentials file for the external cluster.
	CredsFile string
	// Token is presented to the servers (a listening embedded server in
	// tests); empty: none.
	Token string
	// Replicas of the buckets when the node creates them; 0 is 1.
	Replicas int
	// StoreDir is the embedded server's JetStream store.
	StoreDir string
	// Listen, embedded only: a host:port to accept clients on too.
	Listen string
}

// Options configure a Node.
type Options struct {
	// NodeID names the node; empty: the host name.
	NodeID string
	// Region is the node's region label ("" for none).
	Region string
	// PublicURL is where browsers reach this node.
	PublicURL string
	// Version is the server's version.
	Version string
	NATS    NATS
	// Load, if set, reports the node's participants and meetings at each
	// heartbeat (the CPU share is measured here).
	Load func() Load
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
	// Heartbeat is how often the node writes its record, NodeTTL how long
	// the record lives, SweepEvery how often placements on gone nodes are
	// removed. Zero: the defaults. NodeTTL must exceed two heartbeats.
	// The registry bucket keeps the NodeTTL of whichever node last
	// created or updated it, so every node should use the same.
	Heartbeat, NodeTTL, SweepEvery time.Duration
}

// ErrNoNode is returned (wrapped, with the allowed regions and the nodes
// that are up) when no live, non-draining node may hold a meeting.
var ErrNoNode = errors.New("no node that may hold this meeting is up")

// Node is this process's membership of the cluster.
type Node struct {
	opts       Options
	log        *slog.Logger
	embedded   *Embedded // nil with an external cluster
	nc         *nats.Conn
	nodes      jetstream.KeyValue
	placements jetstream.KeyValue
	instance   string
	started    time.Time
	// pick chooses a node for a new placement (leastLoaded; tests make
	// nodes disagree).
	pick func(nodes []NodeInfo, may func(NodeInfo) bool) (NodeInfo, bool)
	// watched, if set, gets each listing WatchGone made (tests await it).
	watched func(nodes []NodeInfo)

	mu       sync.Mutex
	draining bool
	rev      uint64 // revision of our record, 0 when not registered
	clash    bool   // another node holds our ID (logged once)
	cpu      cpuMeter

	wake chan struct{} // a heartbeat now (draining changed)
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Start joins the cluster: it starts the embedded NATS server or connects
// to the external one, opens (creating if need be) the buckets, writes
// the node's first record and keeps it alive until Close.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.NodeTTL <= 0 {
		opts.NodeTTL = DefaultNodeTTL
	}
	if opts.SweepEvery <= 0 {
		opts.SweepEvery = DefaultSweepEvery
	}
	if opts.NodeTTL <= 2*opts.Heartbeat {
		return nil, fmt.Errorf("cluster: the node TTL (%v) must exceed two heartbeats (%v)", opts.NodeTTL, opts.Heartbeat)
	}
	if opts.NodeID == "" {
		host, err := os.Hostname()
		if err != nil || !config.ValidNodeID(host) {
			return nil, fmt.Errorf("cluster.node_id: not set, and the host name %q cannot name a node (letters, digits, hyphens, underscores and dots); set cluster.node_id", host)
		}
		opts.NodeID = host
	}
	if !config.ValidNodeID(opts.NodeID) {
		return nil, fmt.Errorf("cluster.node_id: %q is not a node ID", opts.NodeID)
	}
	if opts.Region != "" && !meeting.ValidRegion(opts.Region) {
		return nil, fmt.Errorf("cluster: %q is not a region label", opts.Region)
	}
	n := &Node{
		opts:     opts,
		log:      opts.Logger.With("node", opts.NodeID),
		instance: randomHex(8),
		pick:     leastLoaded,
		started:  time.Now().UTC().Truncate(time.Second),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	n.cpu.sample()
	ok := false
	defer func() {
		if !ok {
			n.closeConn()
		}
	}()
	if err := n.connect(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(n.nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	replicas := max(opts.NATS.Replicas, 1)
	n.nodes, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketNodes,
		Description: "Kaigi node registry: one record a live node, refreshed every heartbeat",
		History:     1,
		TTL:         opts.NodeTTL,
		Storage:     jetstream.MemoryStorage,
		Replicas:    replicas,
		MaxBytes:    16 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", BucketNodes, err)
	}
	n.placements, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketPlacements,
		Description: "Kaigi meeting placement: the node hosting each live meeting",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxBytes:    256 << 20,
		// Needed for the markers of released placements to expire
		// (NATS 2.11 or later).
		LimitMarkerTTL: markerTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", BucketPlacements, err)
	}
	if err := n.register(ctx); err != nil {
		return nil, err
	}
	ok = true
	go n.run()
	n.log.Info("joined the cluster", "region", opts.Region, "embedded_nats", n.embedded != nil,
		"nats_listening", n.embedded != nil && n.embedded.Listening())
	return n, nil
}

// connect starts the embedded server and connects in-process, or connects
// to the external cluster.
func (n *Node) connect() error {
	o := n.opts.NATS
	common := []nats.Option{
		nats.Name("kaigi " + n.opts.NodeID),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				n.log.Warn("cluster: lost the connection to NATS; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			n.log.Info("cluster: reconnected to NATS", "server", c.ConnectedUrlRedacted())
		}),
	}
	var err error
	if len(o.URLs) == 0 {
		n.embedded, err = StartEmbedded(EmbeddedOptions{Name: n.opts.NodeID, StoreDir: o.StoreDir, Listen: o.Listen, Logger: n.opts.Logger})
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		if n.nc, err = n.embedded.Connect(common...); err != nil {
			return fmt.Errorf("cluster: connect to the embedded NATS server: %w", err)
		}
		return nil
	}
	if o.CAFile != "" {
		common = append(common, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" {
		common = append(common, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	if o.CredsFile != "" {
		common = append(common, nats.UserCredentials(o.CredsFile))
	}
	if o.Token != "" {
		common = append(common, nats.Token(o.Token))
	}
	common = append(common, nats.Timeout(5*time.Second))
	urls := ""
	for i, u := range o.URLs {
		if i > 0 {
			urls += ","
		}
		urls += u
	}
	if n.nc, err = nats.Connect(urls, common...); err != nil {
		return fmt.Errorf("cluster: connect to NATS (cluster.nats.urls): %w", err)
	}
	return nil
}

// ID is this node's ID.
func (n *Node) ID() string { return n.opts.NodeID }

// Region is this node's region label.
func (n *Node) Region() string { return n.opts.Region }

// Embedded is the embedded NATS server, or nil with an external cluster.
func (n *Node) Embedded() *Embedded { return n.embedded }

// SetDraining marks the node as draining (it takes no new meetings) or
// not, and tells the cluster at once.
func (n *Node) SetDraining(on bool) {
	n.mu.Lock()
	n.draining = on
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Close leaves the cluster: the heartbeat stops, the node's record is
// removed (so nobody places meetings here any more), the connection
// closes, and the embedded server, if any, stops.
func (n *Node) Close() {
	n.once.Do(func() {
		close(n.stop)
		<-n.done
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n.deregister(ctx)
		n.closeConn()
	})
}

// halt stops the node as a crash would: no more heartbeats, the record
// left to expire (tests).
func (n *Node) halt() {
	n.once.Do(func() {
		close(n.stop)
		<-n.done
		n.closeConn()
	})
}

func (n *Node) closeConn() {
	if n.nc != nil {
		n.nc.Close()
	}
	if n.embedded != nil {
		n.embedded.Close()
	}
}

// run keeps the record alive and sweeps placements until Close.
func (n *Node) run() {
	defer close(n.done)
	beat := time.NewTicker(n.opts.Heartbeat)
	defer beat.Stop()
	sweep := time.NewTicker(n.opts.SweepEvery)
	defer sweep.Stop()
	failing := false
	for {
		select {
		case <-n.stop:
			return
		case <-beat.C:
		case <-n.wake:
		case <-sweep.C:
			ctx, cancel := context.WithTimeout(context.Background(), n.opts.SweepEvery)
			if removed, err := n.sweep(ctx); err != nil {
				n.log.Warn("cluster: sweeping placements", "err", err)
			} else if removed > 0 {
				n.log.Info("cluster: removed placements on nodes that are gone", "placements", removed)
			}
			cancel()
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.opts.Heartbeat)
		err := n.heartbeat(ctx)
		cancel()
		switch { // logged when it starts and stops failing, not every beat
		case err != nil && !failing:
			n.log.Warn("cluster: heartbeat failed; retrying every heartbeat", "err", err)
		case err == nil && failing:
			n.log.Info("cluster: heartbeat works again")
		}
		failing = err != nil
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
