package server

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// startCluster joins the cluster (internal/cluster): by default an
// embedded NATS server in the data directory (nats/) with no listening
// port, so a single node is a cluster of one; or the external NATS
// cluster named in the configuration. The node announces its region, its
// public URL (cluster.public_url, if set) and its load.
func (s *Server) startCluster(ctx context.Context) error {
	c := s.cfg.Cluster
	// Only a URL configured for this node in particular: browsers are
	// sent there from nodes outside a meeting's regions (a shared
	// public_url may lead back to the node that sent them).
	url := c.PublicURL
	node, err := cluster.Start(ctx, cluster.Options{
		NodeID:    c.NodeID,
		Region:    s.cfg.Region,
		PublicURL: strings.TrimSuffix(url, "/"),
		Version:   Version,
		NATS: cluster.NATS{
			URLs:      c.NATS.URLs,
			CAFile:    c.NATS.TLS.CAFile,
			CertFile:  c.NATS.TLS.CertFile,
			KeyFile:   c.NATS.TLS.KeyFile,
			CredsFile: c.NATS.CredsFile,
			Replicas:  c.NATS.Replicas,
			StoreDir:  filepath.Join(s.cfg.Data, "nats"),
			Listen:    c.NATS.Listen,
		},
		Load: func() cluster.Load {
			st := s.signal.Stats()
			return cluster.Load{Participants: st.Participants, Meetings: st.Meetings}
		},
		Logger: s.log,
	})
	if err != nil {
		return err
	}
	s.cluster = node
	// Meetings span nodes (signal/relay.go): joins are placed, relayed to
	// the meeting's node when it is another, and joins relayed from other
	// nodes are served here; what passed through a node that left ends.
	allowed := func(ctx context.Context, own *meeting.Regions) (meeting.Regions, bool, error) {
		org, err := s.accounts.Org(ctx)
		if err != nil {
			return nil, false, err
		}
		_, allowed, named := meeting.RegionVerdict(s.cfg.Region, org.Regions, own)
		return allowed, named, nil
	}
	if err := s.signal.JoinCluster(node, allowed); err != nil {
		node.Close()
		s.cluster = nil
		return err
	}
	// Administrators' actions on meetings held here, asked by other
	// nodes' APIs (admincontrol.go); the subscription ends with the node.
	if _, err := node.HandleControl(s.serveControl); err != nil {
		node.Close()
		s.cluster = nil
		return err
	}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		node.WatchGone(watchCtx, s.signal.NodeGone)
	}()
	s.stopWatch = func() {
		stopWatch()
		<-watched
	}
	return nil
}

// Cluster returns this node's membership of the cluster.
func (s *Server) Cluster() *cluster.Node { return s.cluster }
