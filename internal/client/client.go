package client

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Options configure a client.
type Options struct {
	// BaseURL is the server's origin, e.g. http://127.0.0.1:8080.
	BaseURL string
	Meeting string
	Name    string
	// Resume is a token from an earlier session's Resume().
	Resume string
	// Publish lists the sources to publish as soon as admitted.
	Publish []string
	// Passcode and Device go into hello; Cookie (a session) into the
	// WebSocket handshake, to join as a signed-in account.
	Passcode, Device, Cookie string
	// KeyPackage is sent in hello for end-to-end encrypted meetings (opaque
	// to the server; tests may send any bytes).
	KeyPackage []byte
	// Token is a move's one-time token (Moves); Breakout the breakout room
	// it is for (0: the main room).
	Token    string
	Breakout int
	// Simulcast publishes the camera as three encodings, rid q, h and f
	// (docs/protocol.md); write each with Local("camera").Layer(rid).
	Simulcast bool
	// API builds the PeerConnection; nil means DefaultAPI().
	API    *webrtc.API
	Logger *slog.Logger
	// HTTPClient carries the WebSocket handshake; nil means the default.
	// The load generator binds it to various loopback addresses, since the
	// server rate-limits joins per address.
	HTTPClient *http.Client
	// Observe, if set, is called once for each remote track as it starts;
	// the function it returns (if not nil) then sees every RTP packet of
	// that track, in the track's reading goroutine. The packet is only
	// valid during the call. The load generator counts with it.
	Observe func(*RemoteTrack) func(packet []byte)
	// BeforeHello, if set, is called once the WebSocket is open and before
	// hello is sent (tests of what happens in between).
	BeforeHello func()
}

// Refused is the error Join returns when the server refuses the hello.
type Refused struct {
	Code    string
	Message string
}

func (r *Refused) Error() string { return "refused: " + r.Code + ": " + r.Message }

// ServerError is an error message the server sent about one of ours.
type ServerError struct {
	Code    string
	Message string
}

// Client is one participant.
type Client struct {
	opts Options
	log  *slog.Logger
	conn *websocket.Conn
	pc   *webrtc.PeerConnection

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the reader ends

	wmu sync.Mutex // serialises socket writes

	negMu sync.Mutex // serialises negotiation and the fields below
	// needOffer: our published tracks changed and we owe an offer.
	// turnAsked: the server sent renegotiate and we have not granted it.
	// serverTurn: we sent ready; we must not offer until we answer.
	needOffer, turnAsked, serverTurn bool
	pending                          []webrtc.ICECandidateInit

	mu        sync.Mutex // guards the state below
	changed   chan struct{}
	self      Participant
	roster    []Participant
	resume    string
	resumed   bool
	trackMap  map[string]TrackInfo
	remotes   []*RemoteTrack
	locals    map[string]*LocalTrack
	errs      []ServerError
	closed    string // the server's closed reason, or "socket" if the socket dropped
	closedMsg string // the server's closed message
	waiting   string // why we wait, while in the waiting room
	refusal   *Refused
	settings  map[string]any
	lobby     []WaitingEntry
	draining  *int // seconds the server said it stops within
	moves     []Move
	breakouts Breakouts
	heard     []Broadcast
	notices   []AdminNotice
	room      int // the breakout room this client is in (0: the main room)
	guessing  bool
	stopped   []string          // sources hosts stopped, in order
	received  []json.RawMessage // e2ee_* messages, in order
}

// WaitingEntry is one person in the waiting room, as hosts see it.
type WaitingEntry struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	SignedIn bool   `json:"signedIn"`
	Reason   string `json:"reason"`
	// BannedNetwork: from a network a host banned someone from.
	BannedNetwork bool `json:"bannedNetwork"`
}

var (
	defaultAPIOnce sync.Once
	defaultAPI     *webrtc.API
)

// DefaultAPI is a pion API with default codecs and interceptors that
// gathers loopback candidates only when other interfaces are missing, and
// never uses mDNS.
func DefaultAPI() *webrtc.API {
	defaultAPIOnce.Do(func() {
		var err error
		if defaultAPI, err = NewAPI(webrtc.RegisterDefaultInterceptors); err != nil {
			panic(err)
		}
	})
	return defaultAPI
}

// NewAPI is DefaultAPI's networking with the given interceptors (pion's
// defaults include statistics and congestion-control feedback a load
// generator does without).
func NewAPI(interceptors func(*webrtc.MediaEngine, *interceptor.Registry) error) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	r := &interceptor.Registry{}
	if err := interceptors(m, r); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(r), webrtc.WithSettingEngine(se)), nil
}

// Join connects, says hello and returns once welcomed. The returned client
// publishes opts.Publish at once; write media to Local(source).
func Join(ctx context.Context, opts Options) (*Client, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.API == nil {
		opts.API = DefaultAPI()
	}
	wsURL := "ws" + strings.TrimPrefix(opts.BaseURL, "http") + "/ws"
	hdr := http.Header{"Origin": []string{opts.BaseURL}}
	if opts.Cookie != "" {
		hdr.Set("Cookie", opts.Cookie)
	}
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: hdr, HTTPClient: opts.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", wsURL, err)
	}
	conn.SetReadLimit(4 << 20)

	c := &Client{
		opts:     opts,
		log:      opts.Logger.With("client", opts.Name),
		conn:     conn,
		done:     make(chan struct{}),
		changed:  make(chan struct{}),
		trackMap: make(map[string]TrackInfo),
		locals:   make(map[string]*LocalTrack),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())

	if opts.BeforeHello != nil {
		opts.BeforeHello()
	}
	err = c.send(ctx, helloMsg{Type: "hello", V: 1, Client: "kaigi-go/test", Meeting: opts.Meeting, Name: opts.Name,
		Resume: opts.Resume, Passcode: opts.Passcode, Device: opts.Device, KeyPackage: opts.KeyPackage, Token: opts.Token, Breakout: opts.Breakout,
		Audio: contains(opts.Publish, "microphone"), Video: contains(opts.Publish, "camera")})
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	var w inbound
	if err := c.read(ctx, &w); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("await welcome: %w", err)
	}
	switch w.Type {
	case "welcome":
		if err := c.admitted(&w); err != nil {
			c.Close()
			return nil, err
		}
	case "waiting":
		c.waiting = w.Reason
	case "refused":
		conn.CloseNow()
		return nil, &Refused{Code: w.Code, Message: w.Message}
	default:
		conn.CloseNow()
		return nil, fmt.Errorf("expected welcome, got %q", w.Type)
	}
	go c.readLoop()
	return c, nil
}

// admitted sets up media once welcome arrives (at once, or after the
// waiting room).
func (c *Client) admitted(w *inbound) error {
	c.mu.Lock()
	c.self, c.roster, c.resume, c.resumed, c.settings, c.waiting = w.Self, w.Participants, w.Resume, w.Resumed, w.Settings, ""
	if w.Breakout != nil {
		c.room = w.Breakout.Room
	}
	c.mu.Unlock()

	var iceServers []webrtc.ICEServer
	for _, s := range w.ICEServers {
		iceServers = append(iceServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	pc, err := c.opts.API.NewPeerConnection(webrtc.Configuration{ICEServers: iceServers, BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return err
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			_ = c.send(c.ctx, candidateMsg{Type: "candidate", Candidate: cand.ToJSON()})
		}
	})
	pc.OnTrack(c.onTrack)
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { c.notify() })
	c.negMu.Lock()
	defer c.negMu.Unlock()
	c.pc = pc
	for _, src := range c.opts.Publish {
		if err := c.addLocal(src); err != nil {
			return err
		}
	}
	if len(c.opts.Publish) > 0 {
		return c.offerLocked()
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readLoop handles server messages until the socket closes.
func (c *Client) readLoop() {
	defer close(c.done)
	defer c.notify()
	for {
		var m inbound
		if err := c.read(c.ctx, &m); err != nil {
			c.mu.Lock()
			if c.closed == "" {
				c.closed = "socket"
			}
			c.mu.Unlock()
			return
		}
		if err := c.handle(&m); err != nil {
			c.log.Warn("handling server message", "type", m.Type, "err", err)
		}
		c.notify()
	}
}

func (c *Client) handle(m *inbound) error {
	switch m.Type {
	case "offer":
		return c.handleOffer(m)
	case "answer":
		c.negMu.Lock()
		defer c.negMu.Unlock()
		if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return err
		}
		c.applyPendingLocked()
		return c.stableLocked()
	case "renegotiate":
		c.negMu.Lock()
		defer c.negMu.Unlock()
		c.turnAsked = true
		if c.pc.SignalingState() == webrtc.SignalingStateStable {
			return c.stableLocked()
		}
	case "candidate":
		c.negMu.Lock()
		defer c.negMu.Unlock()
		if m.Candidate == nil || m.Candidate.Candidate == "" {
			return nil
		}
		if c.pc.RemoteDescription() == nil {
			c.pending = append(c.pending, *m.Candidate)
			return nil
		}
		return c.pc.AddICECandidate(*m.Candidate)
	case "participant_joined":
		c.mu.Lock()
		c.roster = append(c.roster, m.Participant)
		c.mu.Unlock()
	case "participant_updated":
		c.mu.Lock()
		for i := range c.roster {
			if c.roster[i].ID == m.Participant.ID {
				c.roster[i] = m.Participant
			}
		}
		if m.Participant.ID == c.self.ID {
			c.self = m.Participant
		}
		c.mu.Unlock()
	case "participant_left":
		c.mu.Lock()
		for i := range c.roster {
			if c.roster[i].ID == m.ID {
				c.roster = append(c.roster[:i], c.roster[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
	case "error":
		c.mu.Lock()
		c.errs = append(c.errs, ServerError{Code: m.Code, Message: m.Message})
		c.mu.Unlock()
	case "closed":
		c.mu.Lock()
		c.closed, c.closedMsg = m.Reason, m.Message
		c.mu.Unlock()
	case "welcome":
		return c.admitted(m)
	case "waiting":
		c.mu.Lock()
		c.waiting = m.Reason
		c.mu.Unlock()
	case "refused":
		c.mu.Lock()
		c.refusal = &Refused{Code: m.Code, Message: m.Message}
		c.mu.Unlock()
	case "waiting_room":
		c.mu.Lock()
		c.lobby = m.Entries
		c.guessing = c.guessing || m.Guessing
		c.mu.Unlock()
	case "settings":
		c.mu.Lock()
		c.settings = m.Settings
		c.mu.Unlock()
	case "media_stopped":
		c.mu.Lock()
		c.stopped = append(c.stopped, m.Source)
		c.mu.Unlock()
	case "pong":
	case "draining":
		c.mu.Lock()
		c.draining = &m.Seconds
		c.mu.Unlock()
	case "breakout", "breakout_return":
		c.mu.Lock()
		c.moves = append(c.moves, Move{Room: m.Room, Name: m.Name, Seconds: m.Seconds, Token: m.Token})
		c.mu.Unlock()
	case "breakout_broadcast":
		c.mu.Lock()
		c.heard = append(c.heard, Broadcast{From: m.From, Payload: m.Payload, Text: m.Text})
		c.mu.Unlock()
	case "admin_notice":
		c.mu.Lock()
		c.notices = append(c.notices, AdminNotice{Action: m.Action, Reason: m.Reason, Message: m.Message})
		c.mu.Unlock()
	case "breakouts":
		c.mu.Lock()
		c.breakouts = Breakouts{Open: m.Open, Closing: m.Closing, Main: m.Main, Rooms: m.Rooms}
		c.mu.Unlock()
	default:
		if strings.HasPrefix(m.Type, "e2ee_") {
			return nil // kept raw by read
		}
		return fmt.Errorf("unexpected message type %q", m.Type)
	}
	return nil
}

// SetMedia tells others what we are sending.
func (c *Client) SetMedia(audio, video, screen bool) error {
	return c.send(c.ctx, mediaMsg{Type: "media", Audio: audio, Video: video, Screen: screen})
}

// SendRaw sends an arbitrary message, for tests of the server's checks.
func (c *Client) SendRaw(ctx context.Context, v any) error { return c.send(ctx, v) }

// Leave says goodbye and closes.
func (c *Client) Leave() {
	_ = c.send(c.ctx, typeMsg{Type: "leave"})
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
	c.Close()
}

// Drop closes the socket and the PeerConnection abruptly, as a lost
// network would: no leave is sent.
func (c *Client) Drop() {
	c.conn.CloseNow()
	<-c.done
	c.Close()
}

// Close releases everything without telling the server.
func (c *Client) Close() {
	c.cancel()
	c.conn.CloseNow()
	c.negMu.Lock()
	pc := c.pc
	c.negMu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
}

// Done is closed when the signalling socket has closed.
func (c *Client) Done() <-chan struct{} { return c.done }

func (c *Client) send(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, b)
}

func (c *Client) read(ctx context.Context, v any) error {
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return err
	}
	var head struct{ Type string }
	if json.Unmarshal(b, &head) == nil && strings.HasPrefix(head.Type, "e2ee_") {
		c.mu.Lock()
		c.received = append(c.received, append(json.RawMessage(nil), b...))
		c.mu.Unlock()
	}
	return json.Unmarshal(b, v)
}

// Control sends a host control (admit, deny, remove, mute, ...): typ with
// extra fields. Refusals arrive as Errors().
func (c *Client) Control(typ string, fields map[string]any) error {
	m := map[string]any{"type": typ}
	for k, v := range fields {
		m[k] = v
	}
	return c.send(c.ctx, m)
}
