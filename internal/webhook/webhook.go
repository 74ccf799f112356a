// Package webhook sends an organisation's webhooks: when a meeting starts
// or ends, when someone joins or leaves one, and when a recording is
// finished (recording.ready: its ID, meeting, size and chunk count, never
// a key, a name or its content), every enabled webhook that
// subscribed to the event gets an HTTP POST of a small JSON body of
// metadata (IDs, times, counts; never names, addresses, or anything from
// inside a meeting, end-to-end encrypted or not), signed with the
// webhook's own secret: header Kaigi-Signature "t=<unix>,v1=<hex
// HMAC-SHA256(secret, t + "." + body)>".
//
// Events come from the signalling server's usage hooks (Tap wraps the
// usage recorder), which are called under a room's lock: Emit only puts
// the event on a queue. The Dispatcher writes a delivery per webhook to
// the store and sends it; a delivery that fails is tried again with
// exponential backoff (by default 6 attempts over about 31 minutes), and
// because pending deliveries are in the store a restart does not lose
// them. The store keeps the last deliveries of each webhook as its log.
//
// Server-side request forgery: a webhook's URL must be https (http only
// to a loopback address, and loopback at all, only when the server runs
// for development or tests: Options.AllowLoopback), and it is checked at
// registration and again when each delivery is dialled: the dialler
// refuses loopback, private, link-local, shared (CGNAT), multicast and
// reserved addresses, after the name is resolved, on the very address it
// connects to, so a name that resolves to a public address at
// registration and a private one later is still refused. Redirects are
// not followed and no proxy is used.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// The events a webhook may subscribe to.
const (
	MeetingStarted    = "meeting.started"
	MeetingEnded      = "meeting.ended"
	ParticipantJoined = "participant.joined"
	ParticipantLeft   = "participant.left"
	RecordingReady    = "recording.ready"
)

// Events are every event, in the order they are listed.
var Events = []string{MeetingStarted, MeetingEnded, ParticipantJoined, ParticipantLeft, RecordingReady}

// Event is what happened, as sent: metadata only.
type Event struct {
	ID   string    `json:"id"` // random; the same on every attempt
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// Meeting is the meeting's ID.
	Meeting string `json:"meeting"`
	// Room is 0 for the main room, n for breakout room n (joined, left).
	Room *int `json:"room,omitempty"`
	// Participant is the server's random ID of one participant in this
	// meeting (joined, left): not an account, not a name.
	Participant string `json:"participant,omitempty"`
	// Participants is how many people were admitted over the meeting
	// (ended); DurationSeconds how long it ran on this server (ended).
	Participants    *int   `json:"participants,omitempty"`
	DurationSeconds *int64 `json:"durationSeconds,omitempty"`
	// Recording is the recording's ID; Chunks and Bytes how many chunks
	// it has and their stored size in all (ready). The recording is as
	// the server holds it: ciphertext when it was end-to-end encrypted.
	Recording string `json:"recording,omitempty"`
	Chunks    *int   `json:"chunks,omitempty"`
	Bytes     *int64 `json:"bytes,omitempty"`
}

// Hook is a registered webhook.
type Hook struct {
	ID        string
	URL       string
	Secret    []byte // opened; sealed in the store
	Events    []string
	Enabled   bool
	CreatedAt time.Time
	CreatedBy string // the administrator's account ID
}

// Wants reports whether h is on and subscribed to event.
func (h Hook) Wants(event string) bool {
	if !h.Enabled {
		return false
	}
	for _, e := range h.Events {
		if e == event {
			return true
		}
	}
	return false
}

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed" // given up
)

// Delivery is one event on its way to one webhook, and its log entry.
type Delivery struct {
	ID        string
	HookID    string
	EventID   string
	Event     string
	Payload   []byte
	Attempts  int
	Status    string
	NextAt    time.Time // when the next attempt is due (pending)
	LastCode  int       // the receiver's last HTTP status, 0: none
	LastError string    // why the last attempt failed, if it did
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store keeps webhooks and deliveries (internal/store).
type Store interface {
	CreateWebhook(ctx context.Context, h Hook, rec audit.Entry) error
	Webhooks(ctx context.Context) ([]Hook, error)
	// SetWebhookEnabled and DeleteWebhook append the entry rec makes of
	// the webhook in the same transaction; ErrNotFound for none.
	SetWebhookEnabled(ctx context.Context, id string, enabled bool, rec func(Hook) audit.Entry) error
	DeleteWebhook(ctx context.Context, id string, rec func(Hook) audit.Entry) error
	AddDeliveries(ctx context.Context, ds []Delivery) error
	// DueDeliveries are pending deliveries of enabled webhooks due at
	// now, oldest first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// UpdateDelivery saves an attempt's outcome and keeps only the newest
	// keep deliveries of its webhook that are not pending.
	UpdateDelivery(ctx context.Context, d Delivery, keep int) error
	// Deliveries are a webhook's newest deliveries, newest first.
	Deliveries(ctx context.Context, hookID string, limit int) ([]Delivery, error)
}

// SignatureHeader carries the signature; Sign makes its value.
const SignatureHeader = "Kaigi-Signature"

// Sign returns the signature header's value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a signature header's value against body, as a receiver
// should: a v1 signature of the secret over its timestamp and the body,
// compared in constant time, made within tolerance of now (replays of an
// old delivery are refused).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook: no timestamp in the signature")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: signed %v from now, beyond %v", d.Round(time.Second), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("webhook: the signature does not match")
}

// SecretPrefix starts every webhook secret.
const SecretPrefix = "whsec_"

// NewSecret returns a fresh secret: SecretPrefix and 32 random bytes in
// base64url. The signature's key is the whole text.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
