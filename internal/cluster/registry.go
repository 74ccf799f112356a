package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats.go/jetstream"
)

// NodeInfo is a node's record in the registry (BucketNodes, JSON).
type NodeInfo struct {
	ID string `json:"id"`
	// Instance is random at each start: two processes claiming one node
	// ID tell themselves apart by it.
	Instance string `json:"instance"`
	Region   string `json:"region,omitempty"`
	// URL is where browsers reach the node (cluster.public_url,
	// config.ValidNodeURL), empty when not configured: only a node with
	// one is a redirect target (RedirectTarget).
	URL     string    `json:"url,omitempty"`
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	// Draining: the node takes no new meetings.
	Draining bool `json:"draining,omitempty"`
	Load     Load `json:"load"`
	// Updated is the node's own clock at its last heartbeat.
	Updated time.Time `json:"updated"`
}

// Load is how busy a node is.
type Load struct {
	Participants int `json:"participants"`
	Meetings     int `json:"meetings"`
	// CPU is the share of the machine's CPUs the process used since the
	// previous heartbeat, 0 to 1.
	CPU float64 `json:"cpu"`
}

// less orders loads for placement: fewer participants, then fewer
// meetings, then less CPU.
func (l Load) less(m Load) bool {
	if l.Participants != m.Participants {
		return l.Participants < m.Participants
	}
	if l.Meetings != m.Meetings {
		return l.Meetings < m.Meetings
	}
	return l.CPU < m.CPU
}

// maxRecord bounds a record read from a bucket.
const maxRecord = 4 << 10

// record is this node's record now.
func (n *Node) record() NodeInfo {
	var load Load
	if n.opts.Load != nil {
		load = n.opts.Load()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	load.CPU = n.cpu.sample()
	return NodeInfo{
		ID:       n.opts.NodeID,
		Instance: n.instance,
		Region:   n.opts.Region,
		URL:      n.opts.PublicURL,
		Version:  n.opts.Version,
		Started:  n.started,
		Draining: n.draining,
		Load:     load,
		Updated:  time.Now().UTC(),
	}
}

// register writes the node's first record. If a record under its ID is
// there already, it waits for it to expire (a crashed predecessor's) and
// fails if it is refreshed instead (another live node has this ID).
func (n *Node) register(ctx context.Context) error {
	id := n.opts.NodeID
	var seen uint64
	// A crashed predecessor's record expires NodeTTL after its last
	// heartbeat, and NATS checks for expired records every 250 ms or so.
	deadline := time.Now().Add(2 * n.opts.NodeTTL)
	poll := time.NewTicker(n.opts.Heartbeat / 4)
	defer poll.Stop()
	for {
		body, _ := json.Marshal(n.record())
		rev, err := n.nodes.Create(ctx, id, body)
		if err == nil {
			n.mu.Lock()
			n.rev = rev
			n.mu.Unlock()
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("cluster: register: %w", err)
		}
		e, err := n.nodes.Get(ctx, id)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			// expired just now: Create again after the pause
		case err != nil:
			return fmt.Errorf("cluster: register: %w", err)
		case seen == 0:
			seen = e.Revision()
			n.log.Info("cluster: a record with this node ID exists; waiting for it to expire", "ttl", n.opts.NodeTTL)
		case e.Revision() != seen:
			return fmt.Errorf("cluster.node_id: %q is in use by another live node; give each node its own ID", id)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster.node_id: %q is in use by another node whose record did not expire", id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
		}
	}
}

// heartbeat refreshes the record with a compare-and-set on its revision,
// and writes it anew if it expired meanwhile (NATS was out of reach for
// longer than NodeTTL). Another process holding the ID is logged, and its
// record left alone.
func (n *Node) heartbeat(ctx context.Context) error {
	id := n.opts.NodeID
	body, _ := json.Marshal(n.record())
	n.mu.Lock()
	rev := n.rev
	n.mu.Unlock()
	if rev != 0 {
		next, err := n.nodes.Update(ctx, id, body, rev)
		if err == nil {
			n.setRev(next, false)
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return err
		}
	}
	next, err := n.nodes.Create(ctx, id, body)
	if err == nil {
		if rev != 0 {
			n.log.Warn("cluster: this node's record had expired (NATS out of reach?); registered again")
		}
		n.setRev(next, false)
		return nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return err
	}
	// Ours after all (a write whose answer was lost), or another node's.
	e, err := n.nodes.Get(ctx, id)
	if err != nil {
		return err
	}
	if info, ok := parseNode(id, e.Value()); ok && info.Instance == n.instance {
		n.setRev(e.Revision(), false)
		return nil
	}
	n.setRev(0, true)
	return nil
}

func (n *Node) setRev(rev uint64, clash bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rev = rev
	if clash && !n.clash {
		n.log.Error("cluster: another process registered this node ID; give each node its own cluster.node_id")
	}
	n.clash = clash
}

// deregister removes the node's record, if it is still ours.
func (n *Node) deregister(ctx context.Context) {
	n.mu.Lock()
	rev := n.rev
	n.rev = 0
	n.mu.Unlock()
	if rev == 0 {
		return
	}
	if err := n.nodes.Delete(ctx, n.opts.NodeID, jetstream.LastRevision(rev)); err != nil {
		n.log.Warn("cluster: removing this node's record; it expires by itself", "err", err, "ttl", n.opts.NodeTTL)
	}
}

// Nodes lists the live nodes (those whose record has not expired), sorted
// by ID. Records that do not parse are skipped.
func (n *Node) Nodes(ctx context.Context) ([]NodeInfo, error) {
	entries, err := n.readAll(ctx, n.nodes)
	if err != nil {
		return nil, fmt.Errorf("cluster: list nodes: %w", err)
	}
	out := make([]NodeInfo, 0, len(entries))
	for _, e := range entries {
		if info, ok := parseNode(e.Key(), e.Value()); ok {
			out = append(out, info)
		} else {
			n.log.Debug("cluster: skipping a malformed node record", "key", e.Key())
		}
	}
	slices.SortFunc(out, func(a, b NodeInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// parseNode reads a registry record, checking what placement and
// redirection rely on: the ID is its key, the region a label, the URL an
// http(s) URL.
func parseNode(key string, value []byte) (NodeInfo, bool) {
	var info NodeInfo
	if len(value) > maxRecord || json.Unmarshal(value, &info) != nil {
		return NodeInfo{}, false
	}
	if info.ID != key || !config.ValidNodeID(info.ID) || (info.Region != "" && !meeting.ValidRegion(info.Region)) {
		return NodeInfo{}, false
	}
	if info.URL != "" && !config.ValidNodeURL(info.URL) {
		return NodeInfo{}, false
	}
	if info.Load.Participants < 0 || info.Load.Meetings < 0 || !(info.Load.CPU >= 0 && info.Load.CPU <= 1) {
		return NodeInfo{}, false
	}
	return info, true
}

// readAll reads every current entry of a bucket, sorted by key: which
// keys there are from the bucket's stream (its subjects, which the server
// lists at once), their values from one watcher, and with a Get the value
// of any key the watcher did not deliver. The watcher alone misses keys
// rewritten while it reads: its end-of-initial-values mark counts the
// messages received, and a key rewritten after it was read (a heartbeat)
// counts again, so the mark can come before keys not yet read; and a key
// rewritten before it was read can be passed over with nothing pending
// said to be left (seen with nats-server 2.15). A live node was then
// missing from a listing: WatchGone reported it gone, and Place and the
// sweep took it for dead.
func (n *Node) readAll(ctx context.Context, kv jetstream.KeyValue) ([]jetstream.KeyValueEntry, error) {
	js, err := jetstream.New(n.nc)
	if err != nil {
		return nil, err
	}
	stream, err := js.Stream(ctx, "KV_"+kv.Bucket())
	if err != nil {
		return nil, err
	}
	prefix := "$KV." + kv.Bucket() + "."
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(prefix+">"))
	if err != nil {
		return nil, err
	}
	current, err := watchAll(ctx, kv)
	if err != nil {
		return nil, err
	}
	for subject := range info.State.Subjects {
		key := strings.TrimPrefix(subject, prefix)
		if _, ok := current[key]; ok {
			continue
		}
		e, err := kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound): // deleted, or expired since
		case err != nil:
			return nil, err
		default:
			current[key] = e
		}
	}
	out := make([]jetstream.KeyValueEntry, 0, len(current))
	for _, k := range slices.Sorted(maps.Keys(current)) {
		out = append(out, current[k])
	}
	return out, nil
}

// watchAll reads the entries of a bucket with one watcher, up to its
// end-of-initial-values mark: most, not always all (readAll).
func watchAll(ctx context.Context, kv jetstream.KeyValue) (map[string]jetstream.KeyValueEntry, error) {
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	current := map[string]jetstream.KeyValueEntry{} // a key written while we read comes twice: keep the last
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("watcher closed")
			}
			if e == nil {
				return current, nil
			}
			current[e.Key()] = e
		}
	}
}
