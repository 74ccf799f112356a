// Package cascade joins this node's SFU routers to those of the other
// nodes of the same meetings (issue 17, cascading): it carries the
// negotiation of the SFU's relays (sfu.RelayOut, sfu.RelayIn) between
// nodes over the cluster's relay messages (cluster.RelaySubject), so
// that each track published on one node crosses once to each other node
// of its meeting that asks for it.
//
// It decides nothing about who is where: the caller asks for a meeting's
// media from another node (Receive) when the meeting has participants
// here whose publishers are there, and says which nodes a meeting's media
// may go to (Options.Allowed: the meeting's allowed regions).
package cascade

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaigi-meet/kaigi/internal/cluster"
	"github.com/kaigi-meet/kaigi/internal/sfu"
)

// Transport carries relay messages between nodes; *cluster.Node is one.
type Transport interface {
	ID() string
	SendRelay(node string, m cluster.RelayMessage) error
	HandleRelays(handle func(cluster.RelayMessage)) (func(), error)
}

// Options configure a Cascade.
type Options struct {
	// Router returns this node's router for a meeting, nil if the meeting
	// has none here: a node relays only meetings it hosts.
	Router func(meeting string) *sfu.Router
	// Allowed reports whether the meeting's media may go to, or come
	// from, node (its region is among the meeting's allowed ones). nil
	// allows every node.
	Allowed func(meeting, node string) bool
	// Publisher, if set, reports whether this node takes the relayed
	// tracks of participant (their msid's stream ID) that node sends in
	// the meeting (sfu.RelayGuard): a meeting's node takes only those of
	// members relayed through node with their media there. nil takes
	// every track.
	Publisher func(meeting, node, participant string) bool
	// Closed, if set, is told (on a goroutine of its own) each time a
	// relay of the meeting with node closes, either way, for whatever
	// reason: the router closed, the other node closed its end or
	// refused, the connection failed.
	Closed func(meeting, node string)
	// Logger receives the cascade's logs; nil means slog.Default().
	Logger *slog.Logger
	// Retry: how an entry node keeps asking for a meeting's relays
	// (Exchange); zero fields take DefaultRetry's.
	Retry Retry
}

// Retry sets how an entry node keeps asking the meeting's node for a
// meeting's relays (Exchange).
type Retry struct {
	// First and Most bound the wait before asking again after a relay
	// closed or an ask brought no relay: First, doubled at each ask that
	// did not last, up to Most.
	First, Most time.Duration
	// Answer is how long an ask may take to bring both relays up (the
	// meeting's node asking for this node's tracks, "want", and not
	// refusing to send its own, "closed_out") before it counts as lost
	// or refused.
	Answer time.Duration
	// SetBack: a relay that was up this long sets the wait back to First
	// when it closes, so that an ask after a relay that lasted comes
	// quickly again, however long the waits before it had grown.
	SetBack time.Duration
}

// DefaultRetry is Options.Retry's default.
var DefaultRetry = Retry{First: 500 * time.Millisecond, Most: 30 * time.Second, Answer: 5 * time.Second, SetBack: 5 * time.Second}

// Cascade is this node's side of every media relay with other nodes.
type Cascade struct {
	tr   Transport
	opts Options
	log  *slog.Logger
	stop func()

	retry Retry
	// now is the clock of the relays' ages (a test's may run ahead);
	// waited, if set, is told each wait chosen before asking again.
	now    func() time.Time
	waited func(k relayKey, wait time.Duration)

	mu        sync.Mutex
	outs      map[relayKey]*outEnd   // sending to a node
	ins       map[relayKey]*inEnd    // receiving from a node
	exchanges map[relayKey]*exchange // kept up by this (entry) node
	closed    bool
}

// exchange is an entry node's wish for both relays of a meeting with its
// node, for as long as its router for the meeting is the one it was
// asked for (Exchange). Under Cascade.mu.
type exchange struct {
	router *sfu.Router
	wait   time.Duration // the last wait before asking again (0: none yet)
	timer  *time.Timer   // the pending check or ask again
	// retrying: timer asks again (else it checks an ask's outcome).
	retrying bool
}

// relayKey is one direction of a meeting's relay with another node.
type relayKey struct{ meeting, node string }

// pace bounds how often a relay message goes again: at most once per
// wait after the last, the wait doubling at each. Under Cascade.mu.
type pace struct {
	at   time.Time     // when it went last
	wait time.Duration // before it may go again
}

// againLocked reports whether what p paces may go again now, and if so
// counts it as gone: the next wait is twice this one (Retry.First at
// the first), up to Retry.Most. Called with c.mu held.
func (c *Cascade) againLocked(p *pace) bool {
	now := c.now()
	if p.wait > 0 && now.Sub(p.at) < p.wait {
		return false
	}
	p.at, p.wait = now, min(max(2*p.wait, c.retry.First), c.retry.Most)
	return true
}

// New starts serving the relay messages sent to this node.
func New(tr Transport, opts Options) (*Cascade, error) {
	c := &Cascade{tr: tr, opts: opts, log: opts.Logger, now: time.Now,
		outs: make(map[relayKey]*outEnd), ins: make(map[relayKey]*inEnd), exchanges: make(map[relayKey]*exchange)}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.retry = opts.Retry
	d := DefaultRetry
	for _, f := range []struct{ v, def *time.Duration }{{&c.retry.First, &d.First}, {&c.retry.Most, &d.Most}, {&c.retry.Answer, &d.Answer}, {&c.retry.SetBack, &d.SetBack}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	stop, err := tr.HandleRelays(c.handle)
	if err != nil {
		return nil, err
	}
	c.stop = stop
	return c, nil
}

// Close stops serving relay messages and asking again; the relays
// themselves close with their routers.
func (c *Cascade) Close() {
	c.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for k, x := range c.exchanges {
		if x.timer != nil {
			x.timer.Stop()
		}
		delete(c.exchanges, k)
	}
}

// allowed applies Options.Allowed.
func (c *Cascade) allowed(meeting, node string) bool {
	return c.opts.Allowed == nil || c.opts.Allowed(meeting, node)
}

// newRelayID names a relay: the receiving node chooses it in its "want",
// and every message about the relay carries it, so that news of a relay
// that has gone never reaches its successor.
func newRelayID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Receive asks node to relay the tracks published there in the meeting to
// this node, into the meeting's router here. Asking again while the relay
// is up does nothing, and that is checked before anything else is looked
// up: a node's repeated "ready" costs nothing. Asking again for a relay
// asked for but not up (its connection not made: the "want" or the
// offer, or the answer, lost on the way, or nothing published there yet)
// sends the same "want" again, for the same relay, at most once per wait
// (Retry.First after the last, doubled at each, up to Retry.Most), and
// looks nothing up either.
func (c *Cascade) Receive(meeting, node string) error {
	if node == c.tr.ID() {
		return nil
	}
	k := relayKey{meeting, node}
	c.mu.Lock()
	e := c.ins[k]
	again := e != nil && !e.in.Connected() && c.againLocked(&e.wanted)
	c.mu.Unlock()
	if again {
		return c.tr.SendRelay(node, cluster.RelayMessage{Meeting: meeting, Kind: cluster.RelayWant, Relay: e.id})
	}
	if e != nil {
		return nil
	}
	if !c.allowed(meeting, node) {
		return fmt.Errorf("cascade: meeting %s: media may not come from node %s", meeting, node)
	}
	r := c.opts.Router(meeting)
	if r == nil {
		return fmt.Errorf("cascade: meeting %s has no router here", meeting)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ins[k] != nil {
		return nil // asked meanwhile
	}
	end := &inEnd{c: c, key: k, id: newRelayID(), since: c.now()}
	end.wanted = pace{at: end.since, wait: c.retry.First}
	in, err := r.RelayFrom(node, end)
	if err != nil {
		return fmt.Errorf("cascade: meeting %s from %s: %w", meeting, node, err)
	}
	end.in = in
	c.ins[k] = end
	if err := c.tr.SendRelay(node, cluster.RelayMessage{Meeting: meeting, Kind: cluster.RelayWant, Relay: end.id}); err != nil {
		delete(c.ins, k)
		end.quiet.Store(true)
		go in.Close()
		return err
	}
	return nil
}

// Exchange relays the meeting's media both ways with node, and keeps
// them up while this node's router for the meeting is the one it is now:
// it asks node for the tracks published there (Receive), and asks node to
// ask this node for its own ("ready"). An entry node calls it when it
// opens its router for a meeting held on node. What is asked goes on the
// relay subject, after whatever this node said of earlier relays with
// node.
//
// Asking again: if the two relays are not both up (connected)
// Retry.Answer after an ask (a ready lost, or refused for a database
// error or because the meeting's node did not know the member yet; a
// want, offer or answer lost, which the same relay's want sent again
// recovers), or once either closes,
// this node asks again for what is missing after a wait: Retry.First,
// doubled at each ask that did not last, up to Retry.Most, and set back
// to Retry.First when a relay that closes had been up Retry.SetBack.
// Until then its members miss the other nodes' media. Each ask is
// idempotent on the meeting's node: a relay up there is left as it is.
func (c *Cascade) Exchange(meeting, node string) error {
	if node == c.tr.ID() {
		return nil
	}
	r := c.opts.Router(meeting)
	if r == nil {
		return fmt.Errorf("cascade: meeting %s has no router here", meeting)
	}
	k := relayKey{meeting, node}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	x := c.exchanges[k]
	if x == nil || x.router != r {
		if x != nil && x.timer != nil {
			x.timer.Stop()
		}
		x = &exchange{router: r}
		c.exchanges[k] = x
	}
	c.mu.Unlock()
	return c.ask(k, x)
}

// ask asks for what is missing of x's relays, then checks the outcome
// after Retry.Answer.
func (c *Cascade) ask(k relayKey, x *exchange) error {
	err := c.Receive(k.meeting, k.node)
	c.mu.Lock()
	sending := c.outs[k] != nil && c.outs[k].upLocked()
	current := c.exchanges[k] == x
	if current && !x.retrying {
		if x.timer != nil {
			x.timer.Stop()
		}
		x.timer = time.AfterFunc(c.retry.Answer, func() { c.check(k, x) })
	}
	c.mu.Unlock()
	if err != nil || sending || !current {
		return err
	}
	return c.tr.SendRelay(k.node, cluster.RelayMessage{Meeting: k.meeting, Kind: cluster.RelayReady})
}

// check looks at x's relays Retry.Answer after an ask: both up (their
// connections made; the one to the meeting's node may also have nothing
// to offer, nothing being published here), nothing more is done until
// one closes (relayDown); else this node asks again after the next wait,
// for a relay asked for but not up as well (Receive sends its "want"
// again, and the "ready" goes again while the meeting's node's relay to
// this one is not up). An exchange whose router has gone ends here.
func (c *Cascade) check(k relayKey, x *exchange) {
	if c.opts.Router(k.meeting) != x.router {
		c.forget(k, x)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exchanges[k] != x || x.retrying {
		return
	}
	x.timer = nil
	if in, out := c.ins[k], c.outs[k]; in != nil && out != nil && in.in.Connected() && out.upLocked() {
		return
	}
	c.retryLocked(k, x, false)
}

// retryLocked asks again for x's relays after the next wait: Retry.First
// if setBack (a relay that lasted closed) or none was chosen yet, else
// the last doubled, up to Retry.Most. Called with c.mu held.
func (c *Cascade) retryLocked(k relayKey, x *exchange, setBack bool) {
	if setBack {
		x.wait = 0
	}
	x.wait = min(max(2*x.wait, c.retry.First), c.retry.Most)
	if x.timer != nil {
		x.timer.Stop()
	}
	x.retrying = true
	x.timer = time.AfterFunc(x.wait, func() {
		c.mu.Lock()
		current := c.exchanges[k] == x
		if current {
			x.retrying, x.timer = false, nil
		}
		c.mu.Unlock()
		if !current {
			return
		}
		if c.opts.Router(k.meeting) != x.router {
			c.forget(k, x)
			return
		}
		if err := c.ask(k, x); err != nil {
			c.log.Warn("cascade: ask again for a meeting's media", "meeting", k.meeting, "node", k.node, "err", err)
		}
	})
	if c.waited != nil {
		c.waited(k, x.wait)
	}
}

// relayDown is told that a relay of k made at up closed. An exchange of
// k asks again after the next wait, unless it is already waiting to; a
// relay that lasted sets the wait back even then (the other relay may
// never have come up, nothing being published on that side, and the wait
// for it have grown).
func (c *Cascade) relayDown(k relayKey, up time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x := c.exchanges[k]
	setBack := c.now().Sub(up) >= c.retry.SetBack
	if x == nil || (x.retrying && !setBack) || c.closed {
		return
	}
	c.retryLocked(k, x, setBack)
}

// forget ends an exchange whose router has gone.
func (c *Cascade) forget(k relayKey, x *exchange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exchanges[k] == x {
		delete(c.exchanges, k)
		if x.timer != nil {
			x.timer.Stop()
		}
	}
}

// handle is one relay message from another node. It runs on the
// transport's goroutine, one message at a time, so that a relay closed by
// a message is gone from the router before the next message may open
// another; what may block for long (waiting for candidates) runs on its
// own. A message about a relay that is not the current one (its ID) is
// news of one that has gone: an offer is refused, the rest ignored.
func (c *Cascade) handle(m cluster.RelayMessage) {
	k := relayKey{m.Meeting, m.From}
	switch m.Kind {
	case cluster.RelayWant:
		c.send(k, m.Relay)
	case cluster.RelayReady:
		if err := c.Receive(m.Meeting, m.From); err != nil {
			c.log.Info("cascade: not asking a ready node for its media", "meeting", m.Meeting, "node", m.From, "err", err)
		}
	case cluster.RelayOffer:
		c.mu.Lock()
		e := c.ins[k]
		current := e != nil && e.id == m.Relay
		var again string // the answer to send again
		repeated := current && m.SDP == e.offer
		if repeated && e.answer != "" && c.againLocked(&e.answered) {
			again = e.answer
		}
		if current && !repeated {
			e.offer, e.answer = m.SDP, ""
		}
		c.mu.Unlock()
		if !current {
			c.tell(k, m.Relay, cluster.RelayClosedIn, "")
			return
		}
		if repeated {
			// Sent again because this node asked again: its answer was
			// lost (sent again, at most once per wait), or is on its way.
			if again != "" {
				c.tell(k, m.Relay, cluster.RelayAnswer, again)
			}
			return
		}
		go func() {
			if err := e.in.HandleOffer(m.SDP); err != nil {
				if !errors.Is(err, sfu.ErrRelayClosed) { // it closed meanwhile: nothing to say
					c.log.Warn("cascade: relay offer", "meeting", m.Meeting, "node", m.From, "err", err)
				}
				e.in.Close()
			}
		}()
	case cluster.RelayAnswer:
		c.mu.Lock()
		e := c.outs[k]
		var offer string
		if e != nil && e.id == m.Relay {
			offer = e.offer
		}
		answered := e != nil && e.answered
		c.mu.Unlock()
		if e == nil || e.id != m.Relay || answered {
			return // an answer sent again while the first was on its way
		}
		if err := e.out.HandleAnswer(m.SDP); err != nil {
			c.log.Warn("cascade: relay answer", "meeting", m.Meeting, "node", m.From, "err", err)
			go e.out.Close()
			return
		}
		c.mu.Lock()
		if e.offer == offer { // not a newer offer made meanwhile
			e.answered = true
		}
		c.mu.Unlock()
	case cluster.RelayClosedOut:
		// The relay leaves the map at once and its end closes now, without
		// telling the other node, which knows: what follows from that node
		// (a "want" for a new relay) finds the router free of it.
		c.mu.Lock()
		e := c.ins[k]
		if e != nil && e.id == m.Relay {
			delete(c.ins, k)
		} else {
			e = nil
		}
		c.mu.Unlock()
		if e != nil {
			e.quiet.Store(true)
			e.in.Close()
		}
	case cluster.RelayClosedIn:
		c.mu.Lock()
		e := c.outs[k]
		if e != nil && e.id == m.Relay {
			delete(c.outs, k)
		} else {
			e = nil
		}
		c.mu.Unlock()
		if e != nil {
			e.quiet.Store(true)
			e.out.Close()
		}
	}
}

// send starts relaying the meeting's tracks to a node that asked for the
// relay id. A relay to that node under another ID has gone on its side
// (it asks anew): it is closed first. A "want" for the relay this node
// sends already (the node asks again: it has no connection yet) makes
// nothing new: the offer outstanding, if any, goes again (the first may
// have been lost), at most once per wait (Retry.First after the last,
// doubled at each, up to Retry.Most) however often it is asked; with
// nothing offered yet (nothing published), nothing is sent. It is
// checked before anything is looked up.
func (c *Cascade) send(k relayKey, id string) {
	c.mu.Lock()
	if e := c.outs[k]; e != nil && e.id == id {
		var again string
		if e.offer != "" && !e.answered && c.againLocked(&e.offered) {
			again = e.offer
		}
		c.mu.Unlock()
		if again != "" {
			c.tell(k, id, cluster.RelayOffer, again)
		}
		return
	}
	c.mu.Unlock()
	r := c.opts.Router(k.meeting)
	if r == nil || !c.allowed(k.meeting, k.node) {
		c.log.Info("cascade: refusing to relay", "meeting", k.meeting, "node", k.node, "here", r != nil)
		c.tell(k, id, cluster.RelayClosedOut, "")
		return
	}
	c.mu.Lock()
	old := c.outs[k]
	if old != nil && old.id == id {
		c.mu.Unlock()
		return
	}
	delete(c.outs, k)
	c.mu.Unlock()
	if old != nil {
		old.quiet.Store(true)
		old.out.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	end := &outEnd{c: c, key: k, id: id, since: c.now()}
	out, err := r.RelayTo(k.node, end)
	if err != nil {
		c.log.Warn("cascade: relay", "meeting", k.meeting, "node", k.node, "err", err)
		c.tell(k, id, cluster.RelayClosedOut, "")
		return
	}
	end.out = out
	c.outs[k] = end
}

// NodeGone closes the relays with a node that left the cluster (its
// record expired or it deregistered, cluster.Node.WatchGone): their
// connections would fail only after ICE's timeouts, and one still being
// negotiated would wait for ever.
func (c *Cascade) NodeGone(node string) {
	c.mu.Lock()
	var outs []*outEnd
	var ins []*inEnd
	for k, e := range c.outs {
		if k.node == node {
			outs = append(outs, e)
		}
	}
	for k, e := range c.ins {
		if k.node == node {
			ins = append(ins, e)
		}
	}
	c.mu.Unlock()
	for _, e := range outs {
		e.out.Close()
	}
	for _, e := range ins {
		e.in.Close()
	}
}

// Drop closes the meeting's relays with node, both ways, telling node:
// the meeting's node drops them when node holds none of the room's
// members any more, whether or not that node closes its end.
func (c *Cascade) Drop(meeting, node string) {
	k := relayKey{meeting, node}
	c.mu.Lock()
	out, in := c.outs[k], c.ins[k]
	c.mu.Unlock()
	if out != nil {
		out.out.Close()
	}
	if in != nil {
		in.in.Close()
	}
}

// tell sends a relay message about relay id of k to its node.
func (c *Cascade) tell(k relayKey, id, kind, sdp string) {
	if err := c.tr.SendRelay(k.node, cluster.RelayMessage{Meeting: k.meeting, Kind: kind, Relay: id, SDP: sdp}); err != nil {
		c.log.Warn("cascade: relay message", "meeting", k.meeting, "node", k.node, "kind", kind, "err", err)
	}
}

// Relays counts the relays up, sending and receiving, for tests and
// metrics.
func (c *Cascade) Relays() (sending, receiving int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.outs), len(c.ins)
}

// relayClosed tells Options.Closed, and an exchange of k (relayDown),
// that a relay made at since closed.
func (c *Cascade) relayClosed(k relayKey, since time.Time) {
	c.relayDown(k, since)
	if c.opts.Closed != nil {
		go c.opts.Closed(k.meeting, k.node)
	}
}

// outEnd is a RelayOut's signaller: offers go to the receiving node.
type outEnd struct {
	c     *Cascade
	key   relayKey
	id    string
	since time.Time     // when it was made
	out   *sfu.RelayOut // set under c.mu once created
	quiet atomic.Bool   // the other node closed first: say nothing

	// Under c.mu: the last offer made, whether the other node answered
	// it, and the pace of sending it again (send).
	offer    string
	answered bool
	offered  pace
}

// upLocked reports whether the relay is up, or has nothing to offer yet
// (nothing published here): nothing of it to ask again for. Called with
// c.mu held.
func (e *outEnd) upLocked() bool { return e.offer == "" || e.out.Connected() }

func (e *outEnd) Description(sdp string) {
	e.c.mu.Lock()
	e.offer, e.answered = sdp, false
	e.offered = pace{at: e.c.now(), wait: e.c.retry.First}
	e.c.mu.Unlock()
	e.c.tell(e.key, e.id, cluster.RelayOffer, sdp)
}

func (e *outEnd) Closed() {
	e.c.mu.Lock()
	if e.c.outs[e.key] == e {
		delete(e.c.outs, e.key)
	}
	e.c.mu.Unlock()
	if !e.quiet.Load() {
		e.c.tell(e.key, e.id, cluster.RelayClosedOut, "")
	}
	e.c.relayClosed(e.key, e.since)
}

// inEnd is a RelayIn's signaller: answers go to the sending node.
type inEnd struct {
	c     *Cascade
	key   relayKey
	id    string
	since time.Time    // when its want was sent
	in    *sfu.RelayIn // set under c.mu once created
	quiet atomic.Bool  // the other node closed first: say nothing

	// Under c.mu: the pace of sending the want again (Receive), the last
	// offer taken and its answer once made, and the pace of sending that
	// answer again when the same offer comes again.
	wanted   pace
	offer    string
	answer   string
	answered pace
}

func (e *inEnd) Description(sdp string) {
	e.c.mu.Lock()
	e.answer = sdp
	e.answered = pace{at: e.c.now(), wait: e.c.retry.First}
	e.c.mu.Unlock()
	e.c.tell(e.key, e.id, cluster.RelayAnswer, sdp)
}

// AcceptRelayed makes inEnd an sfu.RelayGuard (Options.Publisher).
func (e *inEnd) AcceptRelayed(participant string) bool {
	p := e.c.opts.Publisher
	return p == nil || p(e.key.meeting, e.key.node, participant)
}

func (e *inEnd) Closed() {
	e.c.mu.Lock()
	if e.c.ins[e.key] == e {
		delete(e.c.ins, e.key)
	}
	e.c.mu.Unlock()
	if !e.quiet.Load() {
		e.c.tell(e.key, e.id, cluster.RelayClosedIn, "")
	}
	e.c.relayClosed(e.key, e.since)
}
