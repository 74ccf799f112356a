package client

// What the client has learnt from the server, for tests and the load
// generator to read, and WaitFor to await.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kaigi-meet/kaigi/internal/wire"
)

// E2EEMessages returns every e2ee_* message received, in order, as raw
// JSON: the server relays them and never reads them, and neither does
// this client (a real one runs MLS).
func (c *Client) E2EEMessages() []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]json.RawMessage(nil), c.received...)
}

// notify wakes everyone in WaitFor.
func (c *Client) notify() {
	c.mu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// WaitFor blocks until cond holds or ctx ends. cond is re-evaluated every
// time the client's state changes and every 100 ms (packet counts change
// without notifications).
func (c *Client) WaitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %s: %w (%s)", c.opts.Name, what, ctx.Err(), c.describe())
		}
	}
}

// describe sums up the client's negotiation and media for a WaitFor that
// timed out, so a failure says where things stopped: the PeerConnection's
// states, the negotiation's turn, the candidates kept, and each remote
// track's packets. It does not wait for a negotiation in progress (that
// would hide the very wedge it should report).
func (c *Client) describe() string {
	var b strings.Builder
	if !c.negMu.TryLock() {
		b.WriteString("negotiation busy; ")
	} else {
		if c.pc == nil {
			b.WriteString("no PeerConnection; ")
		} else {
			fmt.Fprintf(&b, "signaling %s, ICE %s, connection %s, remote description %t, pending candidates %d; ",
				c.pc.SignalingState(), c.pc.ICEConnectionState(), c.pc.ConnectionState(), c.pc.RemoteDescription() != nil, len(c.pending))
		}
		fmt.Fprintf(&b, "needOffer %t, turnAsked %t, serverTurn %t; ", c.needOffer, c.turnAsked, c.serverTurn)
		c.negMu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(&b, "offered tracks %d, remote tracks:", len(c.trackMap))
	for _, rt := range c.remotes {
		fmt.Fprintf(&b, " %s/%s(mid %s, %d packets, ended %t)", rt.Participant, rt.Source, rt.Mid, rt.packets.Load(), rt.ended.Load())
	}
	return b.String()
}

// Moves returns where the server sent this participant so far.
func (c *Client) Moves() []Move {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Move(nil), c.moves...)
}

// Broadcasts returns the hosts' broadcasts to all rooms heard so far.
func (c *Client) Broadcasts() []Broadcast {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Broadcast(nil), c.heard...)
}

// AdminNotices returns the administrators' notices heard so far.
func (c *Client) AdminNotices() []AdminNotice {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]AdminNotice(nil), c.notices...)
}

// Breakouts returns the last breakouts status (hosts and co-hosts).
func (c *Client) Breakouts() Breakouts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.breakouts
}

// Room returns the breakout room this client joined (0: the main room).
func (c *Client) Room() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.room
}

// Draining returns the seconds within which the server said it stops
// (`draining`), and whether it said so.
func (c *Client) Draining() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining == nil {
		return 0, false
	}
	return *c.draining, true
}

// Self returns our own roster entry.
func (c *Client) Self() Participant {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.self
}

// Roster returns everyone in the meeting, in join order.
func (c *Client) Roster() []Participant {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Participant(nil), c.roster...)
}

// LeftReason returns the reason of the last participant_left heard about
// participant id ("left", "removed", ...), "" if none.
func (c *Client) LeftReason(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leftReasons[id]
}

// ResumeToken returns the token for resuming this participant.
func (c *Client) ResumeToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resume
}

// Resumed reports whether the welcome said we took our place back.
func (c *Client) Resumed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resumed
}

// E2EEResume reports what the last welcome said of the encrypted group
// on a resume: the epoch the group goes on at from what this client's
// hello proved (nil if it does not), and whether the client must leave
// its group instead (e2eeRestart).
func (c *Client) E2EEResume() (continuedAt *uint64, restart bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.e2eeEpoch, c.e2eeRestart
}

// Errors returns the error messages the server sent us.
func (c *Client) Errors() []ServerError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ServerError(nil), c.errs...)
}

// ClosedReason is the server's closed reason, "socket" if the socket
// dropped, or "" while open.
func (c *Client) ClosedReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// ClosedMessage is the words of the server's closed message ("" before).
func (c *Client) ClosedMessage() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closedMsg
}

// RemoteTracks returns the tracks we receive that the latest server offer
// still lists.
func (c *Client) RemoteTracks() []*RemoteTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*RemoteTrack
	for _, rt := range c.remotes {
		if !rt.ended.Load() {
			out = append(out, rt)
		}
	}
	return out
}

// Track returns the live remote track of a participant's source, or nil.
func (c *Client) Track(participant, source string) *RemoteTrack {
	for _, rt := range c.RemoteTracks() {
		if rt.Participant == participant && rt.Source == source {
			return rt
		}
	}
	return nil
}

// Local returns a published track to write media to.
func (c *Client) Local(source string) *LocalTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.locals[source]
}

// ConnectionState is the PeerConnection's state.
func (c *Client) ConnectionState() webrtc.PeerConnectionState {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	if c.pc == nil {
		return webrtc.PeerConnectionStateNew
	}
	return c.pc.ConnectionState()
}

// Waiting returns why we wait in the waiting room, or "" once admitted.
func (c *Client) Waiting() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiting
}

// Refusal returns the server's refusal after waiting (e.g. denied).
func (c *Client) Refusal() *Refused {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refusal
}

// WaitingRoom returns who waits, as the server last told this host.
func (c *Client) WaitingRoom() []WaitingEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]WaitingEntry(nil), c.lobby...)
}

// PasscodeGuessing reports whether the server has told this host that
// wrong passcodes were being tried for the meeting.
func (c *Client) PasscodeGuessing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.guessing
}

// Settings returns the meeting's settings as last received.
func (c *Client) Settings() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings
}

// Stopped returns the sources hosts stopped, in order.
func (c *Client) Stopped() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.stopped...)
}

// Recording returns the meeting's recording state as the server last
// said it (docs/protocol.md, "Recording"): who records, since when.
func (c *Client) Recording() wire.Recording {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recording
}
