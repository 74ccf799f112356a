package server

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/kaigi-meet/kaigi/internal/cluster"
)

// startCluster joins the cluster (internal/cluster): by default an
// embedded NATS server in the data directory (nats/) with no listening
// port, so a single node is a cluster of one; or the external NATS
// cluster named in the configuration. The node announces its region, its
// public URL and its load.
func (s *Server) startCluster(ctx context.Context) error {
	c := s.cfg.Cluster
	url := c.PublicURL
	if url == "" {
		url = s.cfg.PublicURL
	}
	if url == "" {
		url = s.URL()
	}
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
	return nil
}

// Cluster returns this node's membership of the cluster.
func (s *Server) Cluster() *cluster.Node { return s.cluster }
