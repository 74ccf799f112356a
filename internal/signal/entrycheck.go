package signal

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// What keeps a relayed member's media on an entry node in step with the
// meeting's node (entry.go), whatever message is lost on the way:
//
//   - the meeting's node relays a room's media to a node only while that
//     node holds an admitted member of the room whose media is there
//     (mediaMembersOn): a "want" or "ready" from any other node is
//     refused, whatever its region;
//   - when a meeting's regions change (a host's settings here, or the
//     API on any node: regionsChangedSubject), the meeting's node closes
//     the sockets of members relayed through nodes outside them, with
//     region_not_allowed and a node to go to (endRelayedOutside);
//   - the meeting's node tells the entry node, every EntryLease, that it
//     still holds each relayed member (a "keep"); an entry node that
//     hears nothing of a member for three leases ends their socket and
//     peer (watchLease), as if the meeting's node had closed it: a close
//     it missed ends nothing for longer than that;
//   - the other way, the entry node says keep for each member whose
//     socket it holds (relayJoin.Lease), and the meeting's node ends,
//     as a lost connection, a member it hears nothing of for three
//     leases (runRemote): a lost "gone" leaves no member in a meeting.

// regionsChangedSubject carries, to every node, that a meeting's regions
// or the organisation's changed through the API on node From: each node
// ends its meetings it may no longer hold and the members relayed to it
// through nodes outside their meeting's regions.
const regionsChangedSubject = "kaigi.regions.changed"

// regionsChanged is the body of a regionsChangedSubject message.
type regionsChanged struct {
	From string `json:"from"`
}

// mediaKeep is a media message (mediaControl.Op) from the meeting's node:
// it still holds the member.
const mediaKeep = "keep"

// keepMessage is a keep's body, either way.
var keepMessage = []byte(`{"op":"keep"}`)

// defaultEntryLease is Options.EntryLease's default.
const defaultEntryLease = 10 * time.Second

func (s *Server) entryLease() time.Duration {
	if s.opts.EntryLease > 0 {
		return s.opts.EntryLease
	}
	return defaultEntryLease
}

// mediaMembersOn reports whether the room key (live.Room.MediaKey), live
// here, holds an admitted member whose media is on node.
func (s *Server) mediaMembersOn(key, node string) bool {
	return s.hub.MediaElsewhereOn(key, func(el live.MediaElsewhere) bool {
		sess, ok := el.(*session)
		return ok && sess.remote != nil && sess.remote.node == node
	})
}

// mediaPublisher is cascade.Options.Publisher: the meeting's node takes
// a relayed track from node only if its publisher (participant) is an
// admitted member of the room key whose media is on node; a removed,
// banned or departed member's tracks, or those of anyone another node
// names, are not taken. An entry node (the meeting held elsewhere) takes
// what the meeting's node relays.
func (s *Server) mediaPublisher(key, node, participant string) bool {
	if s.hub.MediaRouter(key) == nil {
		return true
	}
	return s.hub.MediaElsewhereFor(key, meeting.ParticipantID(participant), func(el live.MediaElsewhere) bool {
		sess, ok := el.(*session)
		return ok && sess.remote != nil && sess.remote.node == node
	})
}

// recheckRelayed ends the relayed tracks from node in the router of the
// room *key (nil: none) of the publishers mediaPublisher no longer takes.
func (s *Server) recheckRelayed(key *string, node string) {
	if key == nil {
		return
	}
	if r := s.hub.MediaRouter(*key); r != nil {
		if n := r.RecheckRelayed(node); n > 0 {
			s.log.Info("relayed tracks ended: their publisher is no longer relayed through that node", "router", *key, "node", node, "tracks", n)
		}
	}
}

// regionsChanged is live.Options.RegionsChanged: a host changed a live
// meeting's regions here.
func (s *Server) regionsChanged(id meeting.ID) {
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	s.endRelayedOutside(ctx, id)
}

// announceRegionsChanged tells the other nodes that regions changed here
// through the API (EndOutsideRegions).
func (s *Server) announceRegionsChanged() {
	cl := s.clusterLink()
	if cl == nil {
		return
	}
	b, _ := json.Marshal(regionsChanged{From: cl.node.ID()})
	if err := cl.node.Broadcast(regionsChangedSubject, b); err != nil {
		s.log.Error("cluster: announce changed regions", "err", err)
	}
}

// regionsChangedElsewhere handles a regionsChangedSubject message.
func (s *Server) regionsChangedElsewhere(data []byte, self string) {
	var rc regionsChanged
	if json.Unmarshal(data, &rc) != nil || rc.From == self {
		return // the node that changed them checked itself
	}
	// Every message asks for the same check of everything live here:
	// those arriving while one runs are served by one more run.
	s.regionsCheck.trigger(s.checkRegionsElsewhere)
}

// checkRegionsElsewhere ends the meetings this node may no longer hold
// and the members relayed here through nodes outside their meeting's
// regions, after regions changed on another node.
func (s *Server) checkRegionsElsewhere() {
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	if check := s.opts.Regions; check != nil {
		if n := s.hub.EndOutsideRegions(ctx, check); n > 0 {
			s.log.Info("meetings ended: this node is outside their regions now", "meetings", n)
		}
	}
	s.endRelayedOutside(ctx, "")
}

// endRelayedOutside closes the sockets of members relayed here from nodes
// outside their meeting's regions (only meeting id's, if not empty): the
// regions its room has (a host's change) and those stored (the API's,
// which reach the room only when the meeting next starts) must both allow
// the entry node's region. They are refused with region_not_allowed and
// pointed to a node inside the regions; their entry node closes their
// peer, and its router goes with its last member. It returns how many
// were closed.
func (s *Server) endRelayedOutside(ctx context.Context, id meeting.ID) int {
	cl := s.clusterLink()
	if cl == nil {
		return 0
	}
	type meetingConns struct {
		id    meeting.ID
		own   *meeting.Regions
		conns []live.Conn
	}
	var found []meetingConns
	s.hub.Connections(func(c live.Conn) bool {
		sess, ok := c.(*session)
		return ok && sess.remote != nil
	}, func(mid meeting.ID, own *meeting.Regions, conns []live.Conn) {
		if id == "" || mid == id {
			found = append(found, meetingConns{mid, own, conns})
		}
	})
	if len(found) == 0 {
		return 0
	}
	nodes, err := cl.node.Nodes(ctx)
	if err != nil {
		s.log.Warn("cluster: list nodes to check relayed members' regions", "err", err)
		return 0
	}
	regionOf := make(map[string]string, len(nodes))
	for _, n := range nodes {
		regionOf[n.ID] = n.Region
	}
	closed := 0
	// What each of a meeting's regions allow is read once per meeting
	// (the organisation's regions come from the store), and where to send
	// those refused once per meeting and regions, not once per member.
	type verdict struct {
		own      *meeting.Regions
		allowed  meeting.Regions
		named    bool
		redirect *string
	}
	for _, mc := range found {
		owns := []*meeting.Regions{mc.own}
		if rec, _, ok, err := s.opts.Meetings.LookupMeeting(ctx, mc.id); err != nil {
			s.log.Warn("cluster: look up a meeting to check relayed members' regions", "meeting", mc.id, "err", err)
		} else if ok {
			owns = append(owns, rec.Settings.Regions)
		}
		var verdicts []verdict
		for _, own := range owns {
			allowed, named, err := cl.allowed(ctx, own)
			if err != nil {
				s.log.Warn("cluster: allowed regions", "meeting", mc.id, "err", err)
				continue
			}
			verdicts = append(verdicts, verdict{own: own, allowed: allowed, named: named})
		}
		for _, c := range mc.conns {
			sess := c.(*session)
			region, known := regionOf[sess.remote.node]
			if !known {
				continue // gone: NodeGone ends them
			}
			for i := range verdicts {
				v := &verdicts[i]
				refusal := meeting.RegionRefusal(region, v.allowed, v.named)
				if refusal == "" {
					continue
				}
				if v.redirect == nil {
					to := s.RegionRedirect(ctx, v.own)
					v.redirect = &to
				}
				s.log.Info("relayed member ended: their node is outside the meeting's regions now", "meeting", mc.id, "node", sess.remote.node)
				sess.closeWith(wire.Refused{Type: wire.TypeRefused, Code: wire.CodeRegionNotAllowed, Message: refusal,
					Redirect: *v.redirect}, websocket.StatusPolicyViolation)
				closed++
				break
			}
		}
	}
	return closed
}

// leaseRegionsCheck checks the nodes of meeting id's relayed members
// against its regions, closing those outside as a kaigi.regions.changed
// would (endRelayedOutside), at most once a lease per meeting: each
// relayed member's keep asks (keepRemote), and the first of a lease runs
// it. A broadcast lost on the way (NATS core delivers at most once) is
// made up for within a lease. The check reads the meeting's record, the
// organisation's regions and the registry's nodes once for all of the
// meeting's relayed members.
func (s *Server) leaseRegionsCheck(id meeting.ID) {
	cl := s.clusterLink()
	if cl == nil {
		return
	}
	lease, now := s.entryLease(), time.Now()
	cl.checkedMu.Lock()
	if last, ok := cl.checked[id]; ok && now.Sub(last) < lease*9/10 {
		cl.checkedMu.Unlock()
		return
	}
	if cl.checked == nil {
		cl.checked = make(map[meeting.ID]time.Time)
	}
	cl.checked[id] = now
	if len(cl.checked) > 1 {
		for m, at := range cl.checked {
			if now.Sub(at) > 3*lease { // no relayed member left to ask
				delete(cl.checked, m)
			}
		}
	}
	cl.checkedMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	s.endRelayedOutside(ctx, id)
}

// keepRemote tells the entry node, every lease, that this node still
// holds the relayed member, until the session ends. Runs on its own
// goroutine.
func (s *session) keepRemote() {
	t := time.NewTicker(s.srv.entryLease())
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.sendMedia(mediaControl{Op: mediaKeep})
			if s.room != nil {
				id, _, _ := strings.Cut(s.room.MediaKey(), "/")
				s.srv.leaseRegionsCheck(meeting.ID(id))
			}
		}
	}
}

// watchLease ends the relayed socket (and the member's peer here) once
// the meeting's node, having said it keeps the member ("keep"), has said
// nothing about them for three leases: it no longer holds them, and the
// close it sent was lost. A meeting's node that never sent a keep (an
// older version) is not watched. Runs on its own goroutine until the
// session ends.
func (s *session) watchLease(r *relayLink) {
	lease := s.srv.entryLease()
	t := time.NewTicker(lease)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			// This node still holds the socket (relayJoin.Lease).
			_ = r.cl.node.Publish(r.node, r.member, cluster.Message{Media: true, Data: keepMessage})
			if !r.leased.Load() || time.Since(time.Unix(0, r.heard.Load())) <= 3*lease {
				continue
			}
			s.log.Warn("cascade: the meeting's node no longer speaks of a relayed member; ending their socket", "node", r.node)
			s.closeEntry()
			s.Close(live.Closed(wire.ClosedShutdown, msgNodeSilent))
			return
		}
	}
}

const msgNodeSilent = "The server holding this meeting stopped answering. Reconnecting…"
