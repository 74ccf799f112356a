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
	"github.com/kaigi-meet/kaigi/internal/wire"
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
	// E2EEEpoch and E2EEProof go into a resuming hello: the epoch the
	// client's MLS group is at and that epoch's resume proof (opaque to
	// the server: tests may send any 32 bytes).
	E2EEEpoch *uint64
	E2EEProof []byte
	// Token is a move's one-time token (Moves); Breakout the breakout room
	// it is for (0: the main room).
	Token    string
	Breakout int
	// NoRelays leaves the welcome's TURN URLs (turn:, turns:) out of the
	// PeerConnection's ICE servers, keeping STUN entries: the client then
	// allocates no relay and reaches the server only directly, as the web
	// client does until a direct path fails. The load generator sets it so
	// that the server's memory per participant holds no relay it would
	// not hold for a browser; the default keeps today's behaviour (every
	// relay allocated at once), which the server's TURN tests rely on.
	NoRelays bool
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
	// Redirect is, for region_not_allowed, the origin of a node that may
	// hold the meeting (the server's own registry's): join again with it
	// as BaseURL. Empty otherwise.
	Redirect string
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
	// pending are the server's candidates kept for the description they
	// belong to; at most maxPendingCandidates.
	pending []webrtc.ICECandidateInit
	// iceRestart: the server asked for an ICE restart (ice_restart) that
	// our next offer carries.
	iceRestart bool

	mu      sync.Mutex // guards the state below
	changed chan struct{}
	self    Participant
	roster  []Participant
	// leftReasons is the reason of each participant_left heard, by ID.
	leftReasons map[string]string
	resume      string
	resumed     bool
	trackMap    map[string]TrackInfo
	remotes     []*RemoteTrack
	locals      map[string]*LocalTrack
	errs        []ServerError
	closed      string // the server's closed reason, or "socket" if the socket dropped
	closedMsg   string // the server's closed message
	waiting     string // why we wait, while in the waiting room
	refusal     *Refused
	settings    map[string]any
	lobby       []WaitingEntry
	draining    *int // seconds the server said it stops within
	moves       []Move
	breakouts   Breakouts
	heard       []Broadcast
	notices     []AdminNotice
	recording   wire.Recording // the meeting's recording state, as the server last said
	room        int            // the breakout room this client is in (0: the main room)
	guessing    bool
	stopped     []string          // sources hosts stopped, in order
	received    []json.RawMessage // e2ee_* messages, in order
	// e2eeRestart and e2eeEpoch are the last welcome's (E2EEResume).
	e2eeRestart bool
	e2eeEpoch   *uint64
	// iceRestartsAsked counts the server's ice_restart messages.
	iceRestartsAsked int
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
	err = c.send(ctx, wire.Hello{Type: wire.TypeHello, V: wire.Version, Client: "kaigi-go/test", Meeting: opts.Meeting, Name: opts.Name,
		Resume: opts.Resume, Passcode: opts.Passcode, Device: opts.Device, KeyPackage: opts.KeyPackage, E2EEEpoch: opts.E2EEEpoch, E2EEProof: opts.E2EEProof, Token: opts.Token, Breakout: opts.Breakout,
		Audio: contains(opts.Publish, "microphone"), Video: contains(opts.Publish, "camera")})
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	w, err := c.read(ctx)
	if err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("await welcome: %w", err)
	}
	switch w.Type {
	case wire.TypeWelcome, wire.TypeWaiting, wire.TypeRefused:
		if err := c.handle(&w); err != nil {
			c.Close()
			return nil, err
		}
		if r := c.Refusal(); r != nil {
			conn.CloseNow()
			return nil, r
		}
	default:
		conn.CloseNow()
		return nil, fmt.Errorf("expected welcome, got %q", w.Type)
	}
	go c.readLoop()
	return c, nil
}

// admitted sets up media once welcome arrives (at once, or after the
// waiting room).
func (c *Client) admitted(w *wire.Welcome) error {
	c.mu.Lock()
	c.self, c.roster, c.resume, c.resumed, c.settings, c.waiting = w.Self, w.Participants, w.Resume, w.Resumed, settingsMap(w.Settings), ""
	if w.Breakout != nil {
		c.room = w.Breakout.Room
	}
	c.e2eeRestart, c.e2eeEpoch = w.E2EERestart, w.E2EEEpoch
	c.mu.Unlock()

	pc, err := c.opts.API.NewPeerConnection(webrtc.Configuration{ICEServers: iceServers(w.ICEServers, c.opts.NoRelays), BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return err
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			_ = c.send(c.ctx, wire.Candidate{Type: wire.TypeCandidate, Candidate: cand.ToJSON()})
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

// iceServers converts the welcome's ICE servers for pion, without their
// TURN URLs if noRelays (an entry left with no URL is dropped: pion
// refuses one).
func iceServers(in []wire.ICEServer, noRelays bool) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, s := range in {
		urls := s.URLs
		if noRelays {
			urls = nil
			for _, u := range s.URLs {
				if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
					urls = append(urls, u)
				}
			}
			if len(urls) == 0 {
				continue
			}
		}
		out = append(out, webrtc.ICEServer{URLs: urls, Username: s.Username, Credential: s.Credential})
	}
	return out
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
		m, err := c.read(c.ctx)
		if err != nil {
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

// maxPendingCandidates bounds the server's candidates a client keeps
// for a description: a generation has a handful (one per server address
// and transport, plus relayed ones); more are dropped, with a warning.
const maxPendingCandidates = 128

func (c *Client) handle(m *inbound) error {
	switch m.Type {
	case wire.TypeOffer:
		o, err := decodeAs[wire.Offer](m)
		if err != nil {
			return err
		}
		return c.handleOffer(&o)
	case wire.TypeAnswer:
		a, err := decodeAs[wire.Answer](m)
		if err != nil {
			return err
		}
		c.negMu.Lock()
		defer c.negMu.Unlock()
		if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.SDP}); err != nil {
			return err
		}
		c.applyPendingLocked()
		return c.stableLocked()
	case wire.TypeICERestart:
		return c.restartICE()
	case wire.TypeRenegotiate:
		c.negMu.Lock()
		defer c.negMu.Unlock()
		c.turnAsked = true
		if c.pc.SignalingState() == webrtc.SignalingStateStable {
			return c.stableLocked()
		}
	case wire.TypeCandidate:
		cm, err := decodeAs[wire.Candidate](m)
		if err != nil {
			return err
		}
		c.negMu.Lock()
		defer c.negMu.Unlock()
		if cm.Candidate.Candidate == "" {
			return nil
		}
		// While our offer awaits its answer the candidate may be of the
		// generation the answer brings (an ICE restart): added now, it
		// would go to the old one and be lost. The answer applies it. The
		// server signals its candidates after their description
		// (sfu.candidateHold); this covers a server that does not.
		if c.pc.RemoteDescription() == nil || c.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
			if len(c.pending) >= maxPendingCandidates {
				return fmt.Errorf("more than %d ICE candidates before a description", maxPendingCandidates)
			}
			c.pending = append(c.pending, cm.Candidate)
			return nil
		}
		return c.pc.AddICECandidate(cm.Candidate)
	case wire.TypeParticipantJoined, wire.TypeParticipantUpdated:
		e, err := decodeAs[wire.ParticipantEvent](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if m.Type == wire.TypeParticipantJoined {
			c.roster = append(c.roster, e.Participant)
		} else {
			for i := range c.roster {
				if c.roster[i].ID == e.Participant.ID {
					c.roster[i] = e.Participant
				}
			}
			if e.Participant.ID == c.self.ID {
				c.self = e.Participant
			}
		}
		c.mu.Unlock()
	case wire.TypeParticipantLeft:
		l, err := decodeAs[wire.ParticipantLeft](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		for i := range c.roster {
			if c.roster[i].ID == l.ID {
				c.roster = append(c.roster[:i], c.roster[i+1:]...)
				break
			}
		}
		if c.leftReasons == nil {
			c.leftReasons = make(map[string]string)
		}
		c.leftReasons[l.ID] = l.Reason
		c.mu.Unlock()
	case wire.TypeError:
		e, err := decodeAs[wire.Error](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.errs = append(c.errs, ServerError{Code: e.Code, Message: e.Message})
		c.mu.Unlock()
	case wire.TypeClosed:
		cl, err := decodeAs[wire.Closed](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.closed, c.closedMsg = cl.Reason, cl.Message
		c.mu.Unlock()
	case wire.TypeWelcome:
		w, err := decodeAs[wire.Welcome](m)
		if err != nil {
			return err
		}
		return c.admitted(&w)
	case wire.TypeWaiting:
		w, err := decodeAs[wire.Waiting](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.waiting = w.Reason
		c.mu.Unlock()
	case wire.TypeRefused:
		r, err := decodeAs[wire.Refused](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.refusal = &Refused{Code: r.Code, Message: r.Message, Redirect: redirectOrigin(r.Code, r.Redirect)}
		c.mu.Unlock()
	case wire.TypeWaitingRoom:
		w, err := decodeAs[wire.WaitingRoom](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.lobby = w.Entries
		c.guessing = c.guessing || w.Guessing
		c.mu.Unlock()
	case wire.TypeRecording:
		r, err := decodeAs[wire.Recording](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.recording = r
		c.mu.Unlock()
	case wire.TypeSettings:
		s, err := decodeAs[wire.SettingsUpdate](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.settings = settingsMap(s.Settings)
		c.mu.Unlock()
	case wire.TypeMediaStopped:
		s, err := decodeAs[wire.MediaStopped](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.stopped = append(c.stopped, s.Source)
		c.mu.Unlock()
	case wire.TypePong:
	case wire.TypeDraining:
		d, err := decodeAs[wire.Draining](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.draining = &d.Seconds
		c.mu.Unlock()
	case wire.TypeBreakout:
		b, err := decodeAs[wire.Breakout](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.moves = append(c.moves, Move{Room: b.Room, Name: b.Name, Seconds: b.Seconds, Token: b.Token})
		c.mu.Unlock()
	case wire.TypeBreakoutReturn:
		b, err := decodeAs[wire.BreakoutReturn](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.moves = append(c.moves, Move{Seconds: b.Seconds, Token: b.Token})
		c.mu.Unlock()
	case wire.TypeBreakoutBroadcast:
		b, err := decodeAs[wire.BreakoutBroadcast](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.heard = append(c.heard, Broadcast{From: b.From, Payload: b.Payload, Text: b.Text})
		c.mu.Unlock()
	case wire.TypeAdminNotice:
		n, err := decodeAs[wire.AdminNotice](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.notices = append(c.notices, AdminNotice{Action: n.Action, Reason: n.Reason, Message: n.Message})
		c.mu.Unlock()
	case wire.TypeBreakouts:
		b, err := decodeAs[wire.Breakouts](m)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.breakouts = Breakouts{Open: b.Open, Closing: b.Closing, Main: b.Main, Rooms: b.Rooms}
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
	return c.send(c.ctx, wire.Media{Type: wire.TypeMedia, Audio: audio, Video: video, Screen: screen})
}

// SendRaw sends an arbitrary message, for tests of the server's checks.
func (c *Client) SendRaw(ctx context.Context, v any) error { return c.send(ctx, v) }

// Leave says goodbye and closes.
func (c *Client) Leave() {
	_ = c.send(c.ctx, wire.Bare{Type: wire.TypeLeave})
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

// read reads the next server message; e2ee_* messages are also kept raw
// for E2EEMessages.
func (c *Client) read(ctx context.Context) (inbound, error) {
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return inbound{}, err
	}
	var head struct{ Type string }
	if err := json.Unmarshal(b, &head); err != nil {
		return inbound{}, err
	}
	if strings.HasPrefix(head.Type, "e2ee_") {
		c.mu.Lock()
		c.received = append(c.received, append(json.RawMessage(nil), b...))
		c.mu.Unlock()
	}
	return inbound{Type: head.Type, raw: b}, nil
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
