package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/signal"
	"github.com/pion/webrtc/v4"
)

// rawConn is a signalling socket driven by hand, to send what a
// well-behaved client would not.
type rawConn struct {
	t    *testing.T
	conn *websocket.Conn
}

func (s *testServer) dialRaw(t *testing.T) *rawConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+s.URL[len("http"):]+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": []string{s.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(4 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return &rawConn{t: t, conn: conn}
}

func (r *rawConn) send(v any) {
	r.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.conn.Write(ctx, websocket.MessageText, b); err != nil {
		r.t.Fatal(err)
	}
}

type serverMsg struct {
	Type, Code, Message, Reason string
	Ref                         int64
}

// next returns the next message, skipping ones of the given types.
func (r *rawConn) next(skip ...string) serverMsg {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := r.conn.Read(ctx)
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		var m serverMsg
		if err := json.Unmarshal(b, &m); err != nil {
			r.t.Fatal(err)
		}
		if !containsStr(skip, m.Type) {
			return m
		}
	}
}

// closeStatus waits for the server to close the socket and returns how.
func (r *rawConn) closeStatus() websocket.StatusCode {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := r.conn.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hello(meeting, name string) map[string]any {
	return map[string]any{"type": "hello", "v": 1, "meeting": meeting, "name": name}
}

func TestHelloRefusals(t *testing.T) {
	srv := startServer(t, func(c *config.Config, _ *signal.Options) { c.Meetings.MaxParticipants = 2 })
	id := srv.newMeeting(t)
	full := srv.newMeeting(t)
	srv.join(t, full, "One")
	srv.join(t, full, "Two")

	tests := []struct {
		name  string
		hello map[string]any
		code  string
	}{
		{"unknown meeting", hello("0000-0000-0000-0000", "Ada"), "meeting_not_found"},
		{"malformed meeting", hello("../../etc", "Ada"), "meeting_not_found"},
		{"empty name", hello(id, "  "), "bad_name"},
		{"control characters", hello(id, "Ada\u0007"), "bad_name"},
		{"long name", hello(id, string(make([]byte, 65))), "bad_name"},
		{"future version", map[string]any{"type": "hello", "v": 2, "meeting": id, "name": "Ada"}, "unsupported_version"},
		{"full", hello(full, "Three"), "meeting_full"},
		{"malformed hello", map[string]any{"type": "hello", "v": 1, "meeting": id, "name": "Ada", "client": string(make([]byte, 100))}, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.dialRaw(t)
			r.send(tt.hello)
			m := r.next()
			if m.Type != "refused" || m.Code != tt.code || m.Message == "" {
				t.Fatalf("got %+v, want refused %s with a message", m, tt.code)
			}
			if st := r.closeStatus(); st != websocket.StatusPolicyViolation {
				t.Errorf("closed with %v, want policy violation", st)
			}
		})
	}
}

func TestMessagesBeforeAndAfterHello(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	r := srv.dialRaw(t)
	r.send(map[string]any{"type": "ping", "id": 3})
	if m := r.next(); m.Type != "error" || m.Code != "not_joined" || m.Ref != 3 {
		t.Fatalf("ping before hello: %+v", m)
	}
	r.send(hello(id, "Ada"))
	if m := r.next(); m.Type != "welcome" {
		t.Fatalf("hello: %+v", m)
	}
	r.send(hello(id, "Ada"))
	if m := r.next(); m.Type != "error" || m.Code != "already_joined" {
		t.Fatalf("second hello: %+v", m)
	}
	r.send(map[string]any{"type": "ping"})
	if m := r.next(); m.Type != "pong" {
		t.Fatalf("ping: %+v", m)
	}
	r.send(map[string]any{"type": "leave"})
	if st := r.closeStatus(); st != websocket.StatusNormalClosure {
		t.Errorf("leave closed with %v, want normal closure", st)
	}
}

// TestBadNegotiationIsRefusedAndHarmless: each malformed or out-of-turn
// message gets its error, echoing the message's id, and the connection
// keeps working.
func TestBadNegotiationIsRefusedAndHarmless(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	r := srv.dialRaw(t)
	r.send(hello(id, "Ada"))
	if m := r.next(); m.Type != "welcome" {
		t.Fatalf("hello: %+v", m)
	}
	offer := pionOffer(t, webrtc.RTPCodecTypeAudio)

	tests := []struct {
		msg  map[string]any
		code string
	}{
		{map[string]any{"type": "answer", "sdp": "v=0\r\n"}, "unexpected_answer"},
		{map[string]any{"type": "ready"}, "out_of_turn"},
		{map[string]any{"type": "offer", "sdp": "this is not sdp", "tracks": []any{}}, "bad_sdp"},
		{map[string]any{"type": "offer", "sdp": offer, "tracks": []any{map[string]any{"mid": "7", "source": "microphone"}}}, "bad_tracks"},
		{map[string]any{"type": "offer", "sdp": offer, "tracks": []any{map[string]any{"mid": "0", "source": "camera"}}}, "bad_tracks"},
		{map[string]any{"type": "offer", "sdp": offer, "tracks": []any{map[string]any{"mid": "0", "source": "hologram"}}}, "bad_tracks"},
		{map[string]any{"type": "offer", "sdp": offer, "tracks": []any{
			map[string]any{"mid": "0", "source": "microphone"}, map[string]any{"mid": "0", "source": "screen-audio"}}}, "bad_tracks"},
		{map[string]any{"type": "candidate", "candidate": map[string]any{"candidate": "candidate:garbage"}}, ""},
		{map[string]any{"type": "teleport"}, "unknown_type"},
		{map[string]any{"type": "media", "audio": "loud"}, "bad_message"},
	}
	for i, tt := range tests {
		tt.msg["id"] = i + 1
		r.send(tt.msg)
		if tt.code == "" {
			continue // accepted for later (no remote description yet)
		}
		m := r.next("candidate")
		if m.Type != "error" || m.Code != tt.code || m.Ref != int64(i+1) {
			t.Errorf("%v: got %+v, want error %s ref %d", tt.msg["type"], m, tt.code, i+1)
		}
	}
	// Still joined and working: a well-formed offer is answered.
	r.send(map[string]any{"type": "offer", "sdp": offer, "tracks": []any{map[string]any{"mid": "0", "source": "microphone"}}})
	if m := r.next("candidate"); m.Type != "answer" {
		t.Fatalf("good offer after bad ones: %+v", m)
	}
}

// pionOffer makes a real SDP offer with one sendonly transceiver.
func pionOffer(t *testing.T, kind webrtc.RTPCodecType) string {
	t.Helper()
	pc, err := client.DefaultAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

func TestHelloTimeout(t *testing.T) {
	srv := startServer(t, func(_ *config.Config, o *signal.Options) {
		if o != nil {
			o.HelloTimeout = 200 * time.Millisecond
		}
	})
	r := srv.dialRaw(t)
	if st := r.closeStatus(); st != websocket.StatusPolicyViolation {
		t.Fatalf("silent socket closed with %v, want policy violation", st)
	}
}

func TestCrossOriginSocketRefused(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+srv.URL[len("http"):]+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": []string{"https://evil.example"}}})
	if err == nil {
		t.Fatal("a cross-origin WebSocket was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin handshake: %v, %v; want 403", resp, err)
	}
}

func TestJoinRefusedErrorType(t *testing.T) {
	srv := startServer(t, nil)
	_, err := client.Join(context.Background(), client.Options{BaseURL: srv.URL, Meeting: "0000-0000-0000-0000", Name: "Ada"})
	var refused *client.Refused
	if !errors.As(err, &refused) || refused.Code != "meeting_not_found" {
		t.Fatalf("Join = %v, want refused meeting_not_found", err)
	}
}
