package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// Options configure a Dispatcher.
type Options struct {
	Store Store
	// AllowLoopback lets webhooks reach this machine (http or https to a
	// loopback address): for a server run for development or tests only.
	AllowLoopback bool
	// Backoff are the waits before each retry; its length plus one is the
	// number of attempts. Nil: DefaultBackoff.
	Backoff []time.Duration
	// Poll is how often due retries are looked for (default 5 s).
	Poll time.Duration
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// Keep is how many finished deliveries of each webhook the log keeps
	// (default 50).
	Keep   int
	Now    func() time.Time
	Logger *slog.Logger
}

// DefaultBackoff: six attempts over about 31 minutes.
var DefaultBackoff = []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute}

// Limits.
const (
	MaxWebhooks = 20
	queueSize   = 4096
	maxAnswer   = 1 << 10 // bytes of a receiver's answer read (and dropped)
)

// Dispatcher queues events, stores a delivery per subscribed webhook,
// and sends them.
type Dispatcher struct {
	o      Options
	client *http.Client
	queue  chan Event
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// New returns a Dispatcher; Run starts it.
func New(o Options) *Dispatcher {
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Keep <= 0 {
		o.Keep = 50
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Dispatcher{o: o, client: newClient(o.AllowLoopback, o.Timeout),
		queue: make(chan Event, queueSize), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Emit queues an event without waiting (it is called under a room's
// lock). When the queue is full the event is dropped and logged.
func (d *Dispatcher) Emit(e Event) {
	if e.ID == "" {
		e.ID = newID()
	}
	if e.Time.IsZero() {
		e.Time = d.o.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	select {
	case d.queue <- e:
	default:
		d.o.Logger.Warn("webhook queue full: event dropped", "event", e.Type, "meeting", e.Meeting)
	}
}

// Run stores and sends until Close.
func (d *Dispatcher) Run() {
	defer close(d.done)
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			// Events still queued are stored, to be sent after a restart.
			for {
				select {
				case e := <-d.queue:
					d.store([]Event{e})
				default:
					return
				}
			}
		case e := <-d.queue:
			batch := []Event{e}
		more:
			for len(batch) < 256 {
				select {
				case e := <-d.queue:
					batch = append(batch, e)
				default:
					break more
				}
			}
			d.store(batch)
			d.sendDue()
		case <-d.wake:
			d.sendDue()
		case <-t.C:
			d.sendDue()
		}
	}
}

// Close stops Run (after storing what is queued).
func (d *Dispatcher) Close() {
	d.once.Do(func() { close(d.stop) })
	<-d.done
}

// store writes a delivery of each event to each webhook that wants it.
func (d *Dispatcher) store(events []Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hooks, err := d.o.Store.Webhooks(ctx)
	if err != nil {
		d.o.Logger.Error("webhooks: read", "err", err)
		return
	}
	var ds []Delivery
	now := d.o.Now().UTC()
	for _, e := range events {
		body, err := json.Marshal(e)
		if err != nil {
			continue
		}
		for _, h := range hooks {
			if h.Wants(e.Type) {
				ds = append(ds, Delivery{ID: newID(), HookID: h.ID, EventID: e.ID, Event: e.Type, Payload: body,
					Status: StatusPending, NextAt: now, CreatedAt: now, UpdatedAt: now})
			}
		}
	}
	if len(ds) == 0 {
		return
	}
	if err := d.o.Store.AddDeliveries(ctx, ds); err != nil {
		d.o.Logger.Error("webhooks: store deliveries", "err", err, "deliveries", len(ds))
	}
}

// sendDue sends every delivery that is due.
func (d *Dispatcher) sendDue() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	due, err := d.o.Store.DueDeliveries(ctx, d.o.Now(), 100)
	if err != nil {
		d.o.Logger.Error("webhooks: due deliveries", "err", err)
		return
	}
	if len(due) == 0 {
		return
	}
	hooks, err := d.o.Store.Webhooks(ctx)
	if err != nil {
		d.o.Logger.Error("webhooks: read", "err", err)
		return
	}
	// A webhook whose attempt failed gets no more this round: a receiver
	// that never answers costs one timeout a round, not one per delivery
	// due, and does not hold up the other webhooks' deliveries.
	failed := map[string]bool{}
	for _, dl := range due {
		if ctx.Err() != nil {
			return // the rest wait for the next round, not counted as attempts
		}
		i := slices.IndexFunc(hooks, func(h Hook) bool { return h.ID == dl.HookID })
		if i < 0 || !hooks[i].Enabled || failed[dl.HookID] {
			continue
		}
		if !d.attempt(ctx, hooks[i], dl) {
			failed[dl.HookID] = true
		}
	}
}

// attempt sends one delivery once and saves the outcome; it reports
// whether the receiver took it.
func (d *Dispatcher) attempt(ctx context.Context, h Hook, dl Delivery) bool {
	code, err := d.post(ctx, h, dl)
	now := d.o.Now().UTC()
	dl.Attempts++
	dl.LastCode, dl.UpdatedAt, dl.LastError = code, now, ""
	switch {
	case err == nil:
		dl.Status, dl.NextAt = StatusDelivered, time.Time{}
	case dl.Attempts > len(d.o.Backoff):
		dl.Status, dl.NextAt, dl.LastError = StatusFailed, time.Time{}, err.Error()
	default:
		dl.NextAt, dl.LastError = now.Add(d.o.Backoff[dl.Attempts-1]), err.Error()
	}
	if len(dl.LastError) > 300 {
		dl.LastError = dl.LastError[:300]
	}
	if serr := d.o.Store.UpdateDelivery(ctx, dl, d.o.Keep); serr != nil {
		d.o.Logger.Error("webhooks: save delivery", "err", serr)
	}
	return err == nil
}

// post sends a delivery: 2xx is success.
func (d *Dispatcher) post(ctx context.Context, h Hook, dl Delivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(dl.Payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Kaigi-Webhook/1")
	req.Header.Set("Kaigi-Event", dl.Event)
	req.Header.Set("Kaigi-Delivery", dl.ID)
	req.Header.Set(SignatureHeader, Sign(h.Secret, d.o.Now(), dl.Payload))
	resp, err := d.client.Do(req)
	if err != nil {
		var msg string
		if errors.Is(err, ErrRefusedAddress) {
			msg = "refused: the address is not public"
		} else {
			msg = strings.TrimPrefix(err.Error(), "Post \""+h.URL+"\": ")
		}
		return 0, errors.New(msg)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// Register checks and stores a new webhook for by (an administrator) and
// returns it with its secret, shown once.
func (d *Dispatcher) Register(ctx context.Context, by, rawURL string, events []string) (Hook, string, error) {
	u, err := CheckURL(rawURL, d.o.AllowLoopback)
	if err != nil {
		return Hook{}, "", err
	}
	evs, err := checkEvents(events)
	if err != nil {
		return Hook{}, "", err
	}
	hooks, err := d.o.Store.Webhooks(ctx)
	if err != nil {
		return Hook{}, "", err
	}
	if len(hooks) >= MaxWebhooks {
		return Hook{}, "", ErrTooMany
	}
	secret := NewSecret()
	h := Hook{ID: newID(), URL: u.String(), Secret: []byte(secret), Events: evs, Enabled: true, CreatedAt: d.o.Now().UTC(), CreatedBy: by}
	rec := entry(by, audit.WebhookCreated, h, d.o.Now())
	if err := d.o.Store.CreateWebhook(ctx, h, rec); err != nil {
		return Hook{}, "", err
	}
	return h, secret, nil
}

// SetEnabled turns a webhook off (its pending deliveries wait) or on.
func (d *Dispatcher) SetEnabled(ctx context.Context, by, id string, enabled bool) error {
	err := d.o.Store.SetWebhookEnabled(ctx, id, enabled, func(h Hook) audit.Entry {
		h.Enabled = enabled
		return entry(by, audit.WebhookChanged, h, d.o.Now())
	})
	if err == nil && enabled {
		d.Poke()
	}
	return err
}

// Delete deletes a webhook with its deliveries.
func (d *Dispatcher) Delete(ctx context.Context, by, id string) error {
	return d.o.Store.DeleteWebhook(ctx, id, func(h Hook) audit.Entry { return entry(by, audit.WebhookDeleted, h, d.o.Now()) })
}

// List returns the webhooks; Log a webhook's newest deliveries.
func (d *Dispatcher) List(ctx context.Context) ([]Hook, error) { return d.o.Store.Webhooks(ctx) }

// Log returns a webhook's newest deliveries, newest first.
func (d *Dispatcher) Log(ctx context.Context, id string) ([]Delivery, error) {
	return d.o.Store.Deliveries(ctx, id, d.o.Keep)
}

// Poke looks for due deliveries now.
func (d *Dispatcher) Poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// ErrTooMany: the organisation has MaxWebhooks webhooks already.
var ErrTooMany = fmt.Errorf("webhook: at most %d webhooks", MaxWebhooks)

// ErrBadEvents: no event, or one that does not exist.
var ErrBadEvents = errors.New("webhook: choose events among " + strings.Join(Events, ", "))

func checkEvents(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, ErrBadEvents
	}
	var out []string
	for _, e := range in {
		if !slices.Contains(Events, e) {
			return nil, ErrBadEvents
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}

// entry is the audit entry of an administrator's action on h: its host
// only (a URL's path or query may hold a receiver's secret).
func entry(by string, action audit.Action, h Hook, now time.Time) audit.Entry {
	host := h.URL
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	return audit.Entry{Time: now, ActorKind: audit.ActorUser, ActorID: by, Action: action, SubjectKind: audit.SubjectOrg,
		Details: map[string]string{"id": h.ID, "host": host, "events": strings.Join(h.Events, " "), "enabled": fmt.Sprint(h.Enabled)}}
}
