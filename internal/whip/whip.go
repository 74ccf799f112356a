package whip

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/policy"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/pion/webrtc/v4"
)

// TokenPrefix starts every ingest token's text: it says what the token
// is, and lets secret scanners find a leaked one.
const TokenPrefix = "kaigi_whip_"

// EgressTokenPrefix starts every egress (WHEP) token's text.
const EgressTokenPrefix = "kaigi_whep_"

// protocol is what tells WHIP and WHEP apart where they share code: the
// path, the tokens taken and the words of refusals.
type protocol struct {
	name   string // "WHIP" or "WHEP"
	path   string // "/whip/"
	prefix string // of its tokens' text
	kind   string // of its tokens, as stored
	// badToken is the refusal of a missing, wrong or revoked token.
	badToken string
}

var (
	whipProtocol = &protocol{name: "WHIP", path: "/whip/", prefix: TokenPrefix, kind: store.IngestKindWHIP,
		badToken: "An ingest token is needed, and this one is missing, wrong or revoked. The meeting's host makes one under Stream in (WHIP)."}
	whepProtocol = &protocol{name: "WHEP", path: "/whep/", prefix: EgressTokenPrefix, kind: store.IngestKindWHEP,
		badToken: "A watch (WHEP) token is needed, and this one is missing, wrong or revoked. The meeting's host makes one under Watch (WHEP)."}
)

// Tokens finds ingest tokens by the SHA-256 of their text.
type Tokens interface {
	IngestTokenByHash(ctx context.Context, hash []byte) (store.IngestToken, error)
	TouchIngestToken(ctx context.Context, id string, at time.Time) error
}

// Rooms puts a source into a meeting's live room (live.Hub.Ingest).
type Rooms interface {
	Ingest(ctx context.Context, id meeting.ID, src live.Source) (*live.Room, meeting.ParticipantID, *sfu.Peer, error)
}

// Viewers puts a viewer into a meeting's live room (live.Hub.Egress).
type Viewers interface {
	Egress(ctx context.Context, id meeting.ID, src live.Source) (*live.Room, meeting.ParticipantID, *sfu.Viewer, error)
}

// Options make a Handler.
type Options struct {
	Tokens Tokens
	Rooms  Rooms
	// Viewers, when set, serves WHEP at /whep/{meetingID} (whep.go).
	Viewers Viewers
	Logger  *slog.Logger
	// ConnectTimeout is how long a session's media may take to connect
	// before the source is taken out again; zero means 30 seconds.
	ConnectTimeout time.Duration
	// Failures bounds wrong tokens per address; zero means 20 at once,
	// then one every 6 seconds (as the API's bearer tokens).
	Failures policy.Rate
	// Recheck is how often a running session looks its token up again,
	// so that a token revoked through another node of a cluster (whose
	// EndToken reaches only its own sessions) ends the session here
	// too; zero means 10 seconds.
	Recheck time.Duration
}

// Handler serves /whip/{meetingID}, /whep/{meetingID} and their sessions'
// resources.
type Handler struct {
	opts  Options
	log   *slog.Logger
	fails *policy.Limiter
	mux   *http.ServeMux

	mu       sync.Mutex
	sessions map[string]*session // by resource name
	byToken  map[string]*session // by token ID: one session per token
}

// New returns the WHIP handler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 30 * time.Second
	}
	if opts.Recheck == 0 {
		opts.Recheck = 10 * time.Second
	}
	if opts.Failures == (policy.Rate{}) {
		opts.Failures = policy.Rate{Every: 6 * time.Second, Burst: 20}
	}
	h := &Handler{opts: opts, log: opts.Logger, fails: policy.NewLimiter(opts.Failures, nil),
		sessions: map[string]*session{}, byToken: map[string]*session{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whip/{meeting}", h.publish)
	h.resources(mux, whipProtocol)
	if opts.Viewers != nil {
		mux.HandleFunc("POST /whep/{meeting}", h.watch)
		h.resources(mux, whepProtocol)
	}
	h.mux = mux
	return h
}

// resources serves what WHIP and WHEP share besides the POST: OPTIONS,
// the DELETE of a session, and 405 to the rest.
func (h *Handler) resources(mux *http.ServeMux, p *protocol) {
	mux.HandleFunc("OPTIONS "+p.path+"{meeting}", options("OPTIONS, POST"))
	mux.HandleFunc(p.path+"{meeting}", notAllowed(p, "OPTIONS, POST"))
	mux.HandleFunc("DELETE "+p.path+"{meeting}/{session}", h.delete(p))
	mux.HandleFunc("OPTIONS "+p.path+"{meeting}/{session}", options("DELETE, OPTIONS"))
	// No trickle ICE and no ICE restart: RFC 9725 section 4.3.1 (and
	// the WHEP draft, which follows it) asks for 405 to PATCH, and HTTP
	// for the methods that are allowed.
	mux.HandleFunc(p.path+"{meeting}/{session}", notAllowed(p, "DELETE, OPTIONS"))
}

// ServeHTTP serves WHIP and WHEP.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

func options(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		if strings.Contains(allow, "POST") {
			w.Header().Set("Accept-Post", "application/sdp")
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func notAllowed(p *protocol, allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		refuse(w, http.StatusMethodNotAllowed, "method_not_allowed", "This "+p.name+" resource takes "+allow+" only (no trickle ICE or ICE restart).")
	}
}

// refuse answers an error as the API does: {"error": {code, message}}.
func refuse(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	e.Error.Code, e.Error.Message = code, message
	json.NewEncoder(w).Encode(e)
}

// addrOf is the request's address (the trusted proxies' handler has put
// the client's in RemoteAddr).
func addrOf(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// token checks the request's bearer token, of p's kind, and returns it,
// or writes the refusal: 429 for an address over its failures (checked
// before the token), 401 for a missing, malformed, wrong or revoked one,
// or one of the other kind, all alike.
func (h *Handler) token(w http.ResponseWriter, r *http.Request, p *protocol) (store.IngestToken, [32]byte, bool) {
	addr := addrOf(r)
	key := policy.AddressKey(addr)
	if key == "" {
		key = r.RemoteAddr
	}
	if !h.fails.Peek(key) {
		refuse(w, http.StatusTooManyRequests, "rate_limited", "Too many requests with a wrong token. Wait a minute and try again.")
		return store.IngestToken{}, [32]byte{}, false
	}
	fail := func() (store.IngestToken, [32]byte, bool) {
		h.fails.Allow(key)
		w.Header().Set("WWW-Authenticate", `Bearer realm="kaigi `+strings.ToLower(p.name)+`", error="invalid_token"`)
		refuse(w, http.StatusUnauthorized, "bad_token", p.badToken)
		return store.IngestToken{}, [32]byte{}, false
	}
	scheme, text, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(text, p.prefix) || len(text) > 200 {
		return fail()
	}
	sum := sha256.Sum256([]byte(text))
	tok, err := h.opts.Tokens.IngestTokenByHash(r.Context(), sum[:])
	if errors.Is(err, store.ErrNotFound) {
		return fail()
	}
	if err != nil {
		h.log.Error("find ingest token", "err", err)
		refuse(w, http.StatusInternalServerError, "internal", "Something went wrong on the server.")
		return tok, sum, false
	}
	if kindOf(tok) != p.kind {
		return fail()
	}
	return tok, sum, true
}

// offered is a POST that passed the checks WHIP and WHEP share.
type offered struct {
	tok     store.IngestToken
	sum     [32]byte
	meeting meeting.ID
	offer   string
}

// take checks a POST of an offer to p's endpoint: the token (of p's
// kind), that it is the meeting's, the content type and the offer's
// size; or writes the refusal.
func (h *Handler) take(w http.ResponseWriter, r *http.Request, p *protocol) (offered, bool) {
	tok, sum, ok := h.token(w, r, p)
	if !ok {
		return offered{}, false
	}
	id, err := meeting.ParseID(r.PathValue("meeting"))
	if err != nil || id != meeting.ID(tok.MeetingID) {
		// The same answer for every meeting but the token's own, whether
		// it exists or not.
		refuse(w, http.StatusNotFound, "meeting_not_found", "This token is not for a meeting at this address. Use the URL shown with the token.")
		return offered{}, false
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/sdp" {
		refuse(w, http.StatusUnsupportedMediaType, "bad_content_type", "The offer must be sent as application/sdp.")
		return offered{}, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOfferBytes))
	if err != nil {
		refuse(w, http.StatusRequestEntityTooLarge, "too_large", "The offer is larger than this server takes.")
		return offered{}, false
	}
	return offered{tok: tok, sum: sum, meeting: id, offer: string(body)}, true
}

// created answers a session that began: 201 with the answer and the
// session's resource (RFC 9725 section 4.2).
func (h *Handler) created(w http.ResponseWriter, r *http.Request, s *session, answer string) {
	if err := h.opts.Tokens.TouchIngestToken(r.Context(), s.tokenID, time.Now()); err != nil {
		h.log.Warn("note an ingest token's use", "token", s.tokenID, "err", err)
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", s.proto.path+string(s.meeting)+"/"+s.id)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

// refused answers a session that did not begin.
func refused(w http.ResponseWriter, s *session, no *refusal) {
	s.end()
	if no.location != "" {
		w.Header().Set("Location", no.location)
	}
	refuse(w, no.status, no.code, no.message)
}

// publish takes a source's offer (RFC 9725 section 4.2).
func (h *Handler) publish(w http.ResponseWriter, r *http.Request) {
	in, ok := h.take(w, r, whipProtocol)
	if !ok {
		return
	}
	tok, sum, id, offer := in.tok, in.sum, in.meeting, in.offer
	tracks, err := publishedTracks(offer)
	if err != nil {
		refuse(w, http.StatusBadRequest, codeOf(err), "The offer cannot be taken: "+err.Error()+".")
		return
	}

	s := &session{id: newName(), proto: whipProtocol, tokenID: tok.ID, hash: sum, meeting: id, h: h, done: make(chan struct{})}
	if !h.claim(s) {
		refuse(w, http.StatusConflict, "token_in_use", "This token is already streaming into the meeting. End that session (DELETE its resource) or wait for it to time out.")
		return
	}
	answer, no := h.start(r.Context(), s, tok, addrOf(r), offer, tracks)
	if no != nil {
		refused(w, s, no)
		return
	}
	h.created(w, r, s, answer)
}

// refusal is why start did not take a source.
type refusal struct {
	status        int
	code, message string
	location      string // for a redirect
}

// start puts the source in the room and answers its offer, or says why
// not.
func (h *Handler) start(ctx context.Context, s *session, tok store.IngestToken, addr netip.Addr, offer string, tracks []sfu.PublishedTrack) (string, *refusal) {
	room, pid, peer, err := h.opts.Rooms.Ingest(ctx, s.meeting, live.Source{Conn: s, Name: tok.Name, Addr: addr, Ended: s.end})
	if no := h.notPlaced(s, err); no != nil {
		return "", no
	}
	s.placed(room, pid, peer)
	h.log.Info("whip session started", "meeting", s.meeting, "participant", pid, "token", tok.ID)
	if err := peer.HandleOffer(offer, tracks); err != nil {
		return "", &refusal{status: http.StatusBadRequest, code: "bad_offer", message: "The offer cannot be taken: " + err.Error() + "."}
	}
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	answer, err := peer.GatheredAnswer(gctx)
	if err != nil {
		h.log.Error("whip answer", "meeting", s.meeting, "err", err)
		return "", &refusal{status: http.StatusInternalServerError, code: "internal", message: "The server could not make its answer."}
	}
	go h.recheck(s)
	// A source whose media never arrives does not stay in the roster.
	time.AfterFunc(h.opts.ConnectTimeout, func() {
		if peer.ConnectionState() != webrtc.PeerConnectionStateConnected {
			h.log.Info("whip session ended: media did not connect", "meeting", s.meeting, "participant", pid)
			s.end()
		}
	})
	return answer, nil
}

// claim records a new session, unless its token has one running.
func (h *Handler) claim(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byToken[s.tokenID] != nil {
		return false
	}
	h.byToken[s.tokenID] = s
	h.sessions[s.id] = s
	return true
}

// kindOf is a token's kind; a token stored without one streams in.
func kindOf(t store.IngestToken) string {
	if t.Kind == "" {
		return store.IngestKindWHIP
	}
	return t.Kind
}

// notPlaced is the refusal of a session the room did not take (err from
// live.Hub.Ingest or Egress), nil if it did.
func (h *Handler) notPlaced(s *session, err error) *refusal {
	var elsewhere *live.HeldElsewhere
	switch {
	case err == nil:
		return nil
	case errors.As(err, &elsewhere) && elsewhere.URL != "":
		// RFC 9725 section 4.6: a WHIP endpoint may redirect with 307
		// (and a WHEP one, which follows it).
		return &refusal{status: http.StatusTemporaryRedirect, code: "wrong_node", message: "The meeting is held on another node of this server.", location: elsewhere.URL + s.proto.path + string(s.meeting)}
	case errors.As(err, &elsewhere):
		return &refusal{status: http.StatusConflict, code: "wrong_node", message: "The meeting is held on another node of this server, which has no public address configured (cluster.public_url): send the " + s.proto.name + " request to that node."}
	case errors.Is(err, live.ErrIngestForbidden) && s.proto == whepProtocol:
		return &refusal{status: http.StatusForbidden, code: "egress_forbidden", message: "This meeting is end-to-end encrypted and its host has not allowed programs outside encryption. The host can allow them in the meeting's settings."}
	case errors.Is(err, live.ErrIngestForbidden):
		return &refusal{status: http.StatusForbidden, code: "ingest_forbidden", message: "This meeting is end-to-end encrypted and its host has not allowed sources outside encryption. The host can allow them in the meeting's settings."}
	case errors.Is(err, meeting.ErrLocked):
		return &refusal{status: http.StatusForbidden, code: "meeting_locked", message: "The meeting is locked: nobody new may join."}
	case errors.Is(err, live.ErrNoSuchMeeting):
		return &refusal{status: http.StatusNotFound, code: "meeting_not_found", message: "The meeting no longer exists."}
	case errors.Is(err, live.ErrDraining), errors.Is(err, live.ErrShuttingDown), errors.Is(err, live.ErrRoomClosed):
		return &refusal{status: http.StatusServiceUnavailable, code: "unavailable", message: "The server is not taking new sessions now. Try again in a moment."}
	}
	h.log.Error(strings.ToLower(s.proto.name), "meeting", s.meeting, "err", err)
	return &refusal{status: http.StatusInternalServerError, code: "internal", message: "Something went wrong on the server."}
}

// delete ends a session at its program's request (RFC 9725 section 4.2,
// and the WHEP draft's): the token that began it must come with it.
func (h *Handler) delete(p *protocol) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, sum, ok := h.token(w, r, p)
		if !ok {
			return
		}
		h.mu.Lock()
		s := h.sessions[r.PathValue("session")]
		h.mu.Unlock()
		if s == nil || s.proto != p || string(s.meeting) != r.PathValue("meeting") || subtle.ConstantTimeCompare(s.hash[:], sum[:]) != 1 {
			refuse(w, http.StatusNotFound, "session_not_found", "There is no such "+p.name+" session (it ended, or it is another token's).")
			return
		}
		s.end()
		h.log.Info(strings.ToLower(p.name)+" session ended by its program", "meeting", s.meeting, "token", s.tokenID)
		w.WriteHeader(http.StatusOK)
	}
}

// EndToken ends the session of a token that was revoked, if it has one.
func (h *Handler) EndToken(tokenID string) {
	h.mu.Lock()
	s := h.byToken[tokenID]
	h.mu.Unlock()
	if s != nil {
		s.end()
		h.log.Info(strings.ToLower(s.proto.name)+" session ended: its token was revoked", "meeting", s.meeting, "token", tokenID)
	}
}

// recheck looks the session's token up every Options.Recheck while the
// session lasts, and ends the session once the token is gone (revoked,
// or its meeting or maker deleted), on whichever node it was revoked. A
// failed look-up (the database away for a moment) keeps the session.
func (h *Handler) recheck(s *session) {
	t := time.NewTicker(h.opts.Recheck)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := h.opts.Tokens.IngestTokenByHash(ctx, s.hash[:])
		cancel()
		if errors.Is(err, store.ErrNotFound) {
			h.log.Info(strings.ToLower(s.proto.name)+" session ended: its token is gone", "meeting", s.meeting, "token", s.tokenID)
			s.end()
			return
		}
	}
}

// Sessions is how many WHIP and WHEP sessions are open.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// forget drops a session from the handler's maps.
func (h *Handler) forget(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions[s.id] == s {
		delete(h.sessions, s.id)
	}
	if h.byToken[s.tokenID] == s {
		delete(h.byToken, s.tokenID)
	}
}

func codeOf(err error) string {
	if errors.Is(err, ErrUnsupportedCodec) {
		return "unsupported_codec"
	}
	return "bad_offer"
}

// newName is a session resource's name: 16 random bytes, base64url.
func newName() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
