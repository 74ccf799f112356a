package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/webhook"
)

func TestWebhooks(t *testing.T) { eachBackend(t, testWebhooks) }

func testWebhooks(t *testing.T, s *DB) {
	ctx := context.Background()
	now := time.Now().UTC()
	rec := func(a audit.Action) audit.Entry {
		return audit.Entry{Time: now, ActorKind: audit.ActorUser, ActorID: "admin", Action: a, SubjectKind: audit.SubjectOrg}
	}
	h := webhook.Hook{ID: "w1", URL: "https://hooks.example.org/k", Secret: []byte("whsec_x"), Events: []string{"meeting.ended", "meeting.started"}, Enabled: true, CreatedAt: now, CreatedBy: "admin"}
	if err := s.CreateWebhook(ctx, h, rec(audit.WebhookCreated)); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	if err := s.db.QueryRowContext(ctx, `SELECT secret FROM webhooks WHERE id = 'w1'`).Scan(&stored); err != nil || string(stored) == "whsec_x" {
		t.Fatalf("the secret is stored in the clear: %q %v", stored, err)
	}
	hooks, err := s.Webhooks(ctx)
	if err != nil || len(hooks) != 1 || string(hooks[0].Secret) != "whsec_x" || !hooks[0].Enabled || len(hooks[0].Events) != 2 {
		t.Fatalf("webhooks = %+v, %v", hooks, err)
	}

	// Three deliveries: one due, one due later, one delivered.
	d := func(id string, next time.Time) webhook.Delivery {
		return webhook.Delivery{ID: id, HookID: "w1", EventID: "e" + id, Event: "meeting.started", Payload: []byte(`{"id":"e` + id + `"}`),
			Status: webhook.StatusPending, NextAt: next, CreatedAt: now, UpdatedAt: now}
	}
	if err := s.AddDeliveries(ctx, []webhook.Delivery{d("a", now.Add(-time.Millisecond)), d("b", now.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueDeliveries(ctx, now, 10)
	if err != nil || len(due) != 1 || due[0].ID != "a" || string(due[0].Payload) != `{"id":"ea"}` {
		t.Fatalf("due = %+v, %v", due, err)
	}
	// A disabled webhook's deliveries wait.
	if err := s.SetWebhookEnabled(ctx, "w1", false, func(webhook.Hook) audit.Entry { return rec(audit.WebhookChanged) }); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueDeliveries(ctx, now, 10); len(due) != 0 {
		t.Fatalf("a disabled webhook's deliveries are due: %v", due)
	}
	s.SetWebhookEnabled(ctx, "w1", true, func(webhook.Hook) audit.Entry { return rec(audit.WebhookChanged) })

	// The log keeps the newest finished deliveries.
	for i := range 5 {
		x := d(fmt.Sprint("f", i), now)
		if err := s.AddDeliveries(ctx, []webhook.Delivery{x}); err != nil {
			t.Fatal(err)
		}
		x.Status, x.Attempts, x.LastCode, x.NextAt, x.UpdatedAt = webhook.StatusDelivered, 1, 204, time.Time{}, now.Add(time.Duration(i)*time.Second)
		if err := s.UpdateDelivery(ctx, x, 3); err != nil {
			t.Fatal(err)
		}
	}
	log, err := s.Deliveries(ctx, "w1", 100)
	if err != nil {
		t.Fatal(err)
	}
	finished, pending := 0, 0
	for _, x := range log {
		if x.Status == webhook.StatusPending {
			pending++
		} else {
			finished++
			if x.ID == "f0" || x.ID == "f1" {
				t.Errorf("an old delivery %s was kept", x.ID)
			}
		}
	}
	if finished != 3 || pending != 2 {
		t.Fatalf("log: %d finished, %d pending; want 3 and 2", finished, pending)
	}

	if err := s.DeleteWebhook(ctx, "w1", func(webhook.Hook) audit.Entry { return rec(audit.WebhookDeleted) }); err != nil {
		t.Fatal(err)
	}
	if log, _ := s.Deliveries(ctx, "w1", 100); len(log) != 0 {
		t.Fatalf("deliveries outlive their webhook: %v", log)
	}
	if err := s.DeleteWebhook(ctx, "w1", func(webhook.Hook) audit.Entry { return rec(audit.WebhookDeleted) }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting again = %v", err)
	}
	if e, ok, _ := s.LatestAudit(ctx, audit.WebhookDeleted); !ok || e.SubjectKind != audit.SubjectOrg {
		t.Fatalf("no webhook.deleted entry")
	}
}
