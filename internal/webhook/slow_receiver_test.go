package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/webhook"
)

// TestSlowReceiverDoesNotHoldUpOthers: a receiver that never answers (a
// malicious or broken one, with many deliveries due) costs one timed-out
// attempt per round, not one per delivery, so another webhook's
// deliveries due behind it go out in the same round.
func TestSlowReceiverDoesNotHoldUpOthers(t *testing.T) {
	release := make(chan struct{})
	var slowCalls atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowCalls.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	type seen struct{ slowCalls int32 }
	got := make(chan seen, 64)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{slowCalls.Load()}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer fast.Close()

	db := openStore(t)
	d := webhook.New(webhook.Options{Store: db, AllowLoopback: true, Backoff: []time.Duration{time.Hour},
		Poll: 10 * time.Millisecond, Timeout: 300 * time.Millisecond})
	ctx := context.Background()
	hs, _, err := d.Register(ctx, "admin1", slow.URL, []string{webhook.ParticipantJoined})
	if err != nil {
		t.Fatal(err)
	}
	hf, _, err := d.Register(ctx, "admin1", fast.URL, []string{webhook.ParticipantJoined})
	if err != nil {
		t.Fatal(err)
	}
	// Ten deliveries due to each, the slow receiver's older.
	const n = 10
	now := time.Now().UTC()
	var ds []webhook.Delivery
	for i := range n {
		for j, h := range []webhook.Hook{hs, hf} {
			at := now.Add(-time.Hour + time.Duration(j)*time.Minute + time.Duration(i)*time.Second)
			ds = append(ds, webhook.Delivery{ID: h.ID[:8] + string(rune('a'+i)), HookID: h.ID, EventID: string(rune('a' + i)), Event: webhook.ParticipantJoined,
				Payload: []byte(`{}`), Status: webhook.StatusPending, NextAt: at, CreatedAt: at, UpdatedAt: at})
		}
	}
	if err := db.AddDeliveries(ctx, ds); err != nil {
		t.Fatal(err)
	}
	go d.Run()
	defer d.Close()
	for i := range n {
		select {
		case s := <-got:
			if s.slowCalls > 1 {
				t.Fatalf("the other webhook's delivery %d went out after %d attempts to the slow receiver, want 1", i+1, s.slowCalls)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the other webhook got %d of %d deliveries", i, n)
		}
	}
}

// TestHugeAnswerHeadersAreRefused: a receiver that answers with a
// megabyte of headers is not read whole (the body is read to 1 KiB, the
// headers to 64 KiB): the attempt fails, and the log says so.
func TestHugeAnswerHeadersAreRefused(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		for i := range 1024 {
			w.Header().Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("a", 1024))
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	db := openStore(t)
	d := webhook.New(webhook.Options{Store: db, AllowLoopback: true, Backoff: []time.Duration{time.Hour}, Poll: 10 * time.Millisecond, Timeout: 5 * time.Second})
	h, _, err := d.Register(context.Background(), "admin1", srv.URL, []string{webhook.ParticipantJoined})
	if err != nil {
		t.Fatal(err)
	}
	go d.Run()
	defer d.Close()
	d.Emit(webhook.Event{Type: webhook.ParticipantJoined, Meeting: "m"})
	deadline := time.Now().Add(20 * time.Second)
	for {
		log, _ := d.Log(context.Background(), h.ID)
		if len(log) == 1 && log[0].Attempts == 1 {
			if log[0].Status == webhook.StatusDelivered || log[0].LastError == "" || calls.Load() != 1 {
				t.Fatalf("a megabyte of headers was taken: %+v", log[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log: %+v", log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
