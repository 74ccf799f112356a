package client

// Publishing and WebRTC negotiation: our offers when our tracks change,
// answers to the server's offers in the turns we grant, remote tracks.

import (
	"fmt"

	"github.com/kaigi-meet/kaigi/internal/wire"
	"github.com/pion/webrtc/v4"
)

// Publish starts publishing a source and renegotiates.
func (c *Client) Publish(source string) (*LocalTrack, error) {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	if c.pc == nil {
		return nil, fmt.Errorf("publish %s: not admitted yet", source)
	}
	if err := c.addLocal(source); err != nil {
		return nil, err
	}
	return c.Local(source), c.offerLocked()
}

// Unpublish stops publishing a source and renegotiates.
func (c *Client) Unpublish(source string) error {
	c.mu.Lock()
	lt := c.locals[source]
	delete(c.locals, source)
	c.mu.Unlock()
	if lt == nil {
		return fmt.Errorf("not publishing %s", source)
	}
	c.negMu.Lock()
	defer c.negMu.Unlock()
	if err := c.pc.RemoveTrack(lt.sender); err != nil {
		return err
	}
	return c.offerLocked()
}

// addLocal adds a sending transceiver; negMu is held.
func (c *Client) addLocal(source string) error {
	var codec webrtc.RTPCodecCapability
	switch source {
	case "microphone", "screen-audio":
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	case "camera", "screen":
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	default:
		// Let the server judge unknown sources: tests send them on purpose.
		codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	}
	if c.opts.Simulcast && source == "camera" {
		return c.addSimulcast(source, codec)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(codec, source, streamID(c.opts.Name, source))
	if err != nil {
		return err
	}
	tr, err := c.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	lt := newLocalTrack(source, track, tr)
	go lt.drainRTCP()
	c.mu.Lock()
	c.locals[source] = lt
	c.mu.Unlock()
	return nil
}

// simulcastRIDs are the camera's encodings, lowest first.
var simulcastRIDs = []string{"q", "h", "f"}

// addSimulcast adds a sending transceiver with one encoding per RID; negMu
// is held.
func (c *Client) addSimulcast(source string, codec webrtc.RTPCodecCapability) error {
	var tr *webrtc.RTPTransceiver
	layers := make(map[string]*LocalTrack, len(simulcastRIDs))
	for _, rid := range simulcastRIDs {
		track, err := webrtc.NewTrackLocalStaticRTP(codec, source, streamID(c.opts.Name, source), webrtc.WithRTPStreamID(rid))
		if err != nil {
			return err
		}
		if tr == nil {
			tr, err = c.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		} else {
			err = tr.Sender().AddEncoding(track)
		}
		if err != nil {
			return err
		}
		layers[rid] = newLocalTrack(source, track, tr)
		layers[rid].rid = rid
	}
	lt := layers[simulcastRIDs[0]]
	lt.layers = layers
	for _, l := range layers {
		go l.drainRTCP()
	}
	c.mu.Lock()
	c.locals[source] = lt
	c.mu.Unlock()
	return nil
}

// offerLocked sends an offer listing our published tracks, or notes that one
// is owed if it is not our turn. negMu is held.
func (c *Client) offerLocked() error {
	if c.pc.SignalingState() != webrtc.SignalingStateStable || c.serverTurn {
		c.needOffer = true
		return nil
	}
	c.needOffer = false
	offer, err := c.pc.CreateOffer(c.offerOptions())
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	var tracks []wire.PublishedTrack
	c.mu.Lock()
	for src, lt := range c.locals {
		tracks = append(tracks, wire.PublishedTrack{Mid: lt.transceiver.Mid(), Source: src})
	}
	c.mu.Unlock()
	return c.send(c.ctx, wire.ClientOffer{Type: wire.TypeOffer, SDP: offer.SDP, Tracks: tracks})
}

// handleOffer answers a server offer (which comes only in a turn we
// granted).
func (c *Client) handleOffer(m *wire.Offer) error {
	c.negMu.Lock()
	defer c.negMu.Unlock()
	c.mu.Lock()
	next := make(map[string]TrackInfo, len(m.Tracks))
	for _, t := range m.Tracks {
		next[t.Mid] = t
	}
	for _, rt := range c.remotes {
		if _, ok := next[rt.Mid]; !ok {
			rt.ended.Store(true)
		}
	}
	c.trackMap = next
	c.mu.Unlock()

	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		return err
	}
	c.applyPendingLocked()
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	if err := c.send(c.ctx, wire.Answer{Type: wire.TypeAnswer, SDP: answer.SDP}); err != nil {
		return err
	}
	c.serverTurn = false
	return c.stableLocked()
}

// stableLocked runs whenever negotiation settles: grant the server the turn
// it asked for, or else send the offer we owe.
func (c *Client) stableLocked() error {
	switch {
	case c.serverTurn:
		return nil
	case c.turnAsked:
		c.turnAsked = false
		c.serverTurn = true
		return c.send(c.ctx, wire.Bare{Type: wire.TypeReady})
	case c.needOffer:
		return c.offerLocked()
	}
	return nil
}

func (c *Client) applyPendingLocked() {
	for _, cand := range c.pending {
		_ = c.pc.AddICECandidate(cand)
	}
	c.pending = nil
}

func (c *Client) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	mid := ""
	c.negMu.Lock()
	pc := c.pc
	c.negMu.Unlock()
	for _, t := range pc.GetTransceivers() {
		if t.Receiver() == recv {
			mid = t.Mid()
		}
	}
	c.mu.Lock()
	info := c.trackMap[mid]
	rt := &RemoteTrack{Mid: mid, Participant: info.Participant, Source: info.Source, Kind: track.Kind().String(), track: track, recv: recv, pc: pc}
	c.remotes = append(c.remotes, rt)
	c.mu.Unlock()
	c.notify()
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := recv.Read(buf); err != nil {
				return
			}
		}
	}()
	var observe func([]byte)
	if c.opts.Observe != nil {
		observe = c.opts.Observe(rt)
	}
	rt.receive(c.notify, observe)
}

// streamID is the msid stream ID of a local track: the display name and
// the source, with every byte that is not a letter, digit, '-', '_' or '.'
// made '-' and the whole cut to 64 bytes. An msid's ID is a token (RFC
// 8830): a name with a space split it, and pion then read the simulcast
// camera's three encodings as three Plan B tracks and refused the offer.
func streamID(name, source string) string {
	b := []byte(name + "-" + source)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			b[i] = '-'
		}
	}
	if len(b) > 64 {
		b = b[len(b)-64:]
	}
	return string(b)
}
