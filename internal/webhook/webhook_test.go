package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/kaigi-meet/kaigi/internal/webhook"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	sealer, _ := auth.NewSealer(make([]byte, 32))
	db, err := store.OpenSQLite(context.Background(), t.TempDir(), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// receiver records what it is sent; it answers fail's status while fail
// is positive (counting down), then 204.
type receiver struct {
	mu    sync.Mutex
	fail  int
	got   []http.Header
	body  [][]byte
	calls chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got, r.body = append(r.got, req.Header.Clone()), append(r.body, b)
	failing := r.fail > 0
	r.fail--
	r.mu.Unlock()
	if failing {
		w.WriteHeader(http.StatusServiceUnavailable)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	r.calls <- struct{}{}
}

func await(t *testing.T, c chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestSignedEventsForAMeetingThatStartsAndEnds: the receiver gets
// meeting.started and meeting.ended for a meeting someone joins and
// leaves, each signed with the secret the registration showed; one that
// fails first is tried again (short backoff) until it takes it.
func TestSignedEventsForAMeetingThatStartsAndEnds(t *testing.T) {
	rc := &receiver{fail: 2, calls: make(chan struct{}, 16)}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db := openStore(t)
	d := webhook.New(webhook.Options{Store: db, AllowLoopback: true, Backoff: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
		Poll: 10 * time.Millisecond, Timeout: 5 * time.Second})
	go d.Run()
	defer d.Close()
	h, secret, err := d.Register(context.Background(), "admin1", srv.URL+"/hook", []string{webhook.MeetingStarted, webhook.MeetingEnded})
	if err != nil {
		t.Fatal(err)
	}
	tap := webhook.NewTap(nil, d, nil)
	tap.Admitted("abc-defg-hij", 0, "p1")
	tap.Admitted("abc-defg-hij", 0, "p1") // a resume: nothing new
	tap.Gone("abc-defg-hij", 0, "p1")
	tap.Closed("abc-defg-hij", 0)

	// The first two attempts fail and are tried again.
	for range 4 {
		await(t, rc.calls, "a delivery")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	types := map[string]int{}
	for i, hdr := range rc.got {
		if err := webhook.Verify([]byte(secret), hdr.Get(webhook.SignatureHeader), rc.body[i], time.Now(), 5*time.Minute); err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
		if err := webhook.Verify([]byte(secret+"x"), hdr.Get(webhook.SignatureHeader), rc.body[i], time.Now(), 5*time.Minute); err == nil {
			t.Errorf("delivery %d verifies with another secret", i)
		}
		var e webhook.Event
		if err := json.Unmarshal(rc.body[i], &e); err != nil || e.Meeting != "abc-defg-hij" || e.Type != hdr.Get("Kaigi-Event") {
			t.Errorf("delivery %d: %s (%v)", i, rc.body[i], err)
		}
		if e.Type == webhook.MeetingEnded && (e.Participants == nil || *e.Participants != 1) {
			t.Errorf("meeting.ended: %s", rc.body[i])
		}
		types[e.Type]++
	}
	if types[webhook.MeetingStarted] < 1 || types[webhook.MeetingEnded] < 1 || len(types) != 2 || len(rc.got) != 4 {
		t.Fatalf("deliveries by type %v: want both events, four attempts in all (two failed), nothing else", types)
	}
	rc.mu.Unlock()
	// The log says so (the last update may land just after the answer).
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, err := d.Log(context.Background(), h.ID)
		if err != nil {
			t.Fatal(err)
		}
		delivered, attempts := 0, 0
		for _, x := range log {
			if x.Status == webhook.StatusDelivered {
				delivered++
				attempts += x.Attempts
			}
		}
		if delivered == 2 && attempts == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log: %+v", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rc.mu.Lock()
}

// TestFailingReceiverIsGivenUp after the last attempt.
func TestFailingReceiverIsGivenUp(t *testing.T) {
	rc := &receiver{fail: 1000, calls: make(chan struct{}, 16)}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db := openStore(t)
	d := webhook.New(webhook.Options{Store: db, AllowLoopback: true, Backoff: []time.Duration{5 * time.Millisecond, 5 * time.Millisecond}, Poll: 5 * time.Millisecond})
	go d.Run()
	defer d.Close()
	h, _, err := d.Register(context.Background(), "admin1", srv.URL, []string{webhook.ParticipantJoined})
	if err != nil {
		t.Fatal(err)
	}
	d.Emit(webhook.Event{Type: webhook.ParticipantJoined, Meeting: "m"})
	for range 3 {
		await(t, rc.calls, "an attempt")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, _ := d.Log(context.Background(), h.ID)
		if len(log) == 1 && log[0].Status == webhook.StatusFailed {
			if log[0].Attempts != 3 || log[0].LastCode != 503 {
				t.Fatalf("given up: %+v", log[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log: %+v", log)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-rc.calls:
		t.Fatal("a fourth attempt")
	case <-time.After(50 * time.Millisecond):
	}
}

// TestPrivateAddressesAreRefused: at registration, and when a delivery is
// dialled (a webhook stored with a loopback URL, sent by a dispatcher
// that does not allow loopback, never reaches the receiver).
func TestPrivateAddressesAreRefused(t *testing.T) {
	for _, u := range []string{"http://hooks.example.org/x", "https://10.0.0.5/x", "https://192.168.1.1/", "https://169.254.169.254/latest/meta-data",
		"https://[fd00::1]/", "https://[::1]/", "https://127.0.0.1/", "https://localhost/", "https://100.64.0.1/", "https://[::ffff:10.0.0.1]/",
		"https://0.0.0.0/", "https://user:pw@hooks.example.org/", "ftp://hooks.example.org/", "https://intranet/"} {
		if _, err := webhook.CheckURL(u, false); !errors.Is(err, webhook.ErrRefusedAddress) {
			t.Errorf("%s accepted (%v)", u, err)
		}
	}
	for _, u := range []string{"https://hooks.example.org/x?k=1", "https://93.184.215.14/hook"} {
		if _, err := webhook.CheckURL(u, false); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	if _, err := webhook.CheckURL("http://127.0.0.1:8080/x", true); err != nil {
		t.Errorf("loopback on a development server refused: %v", err)
	}
	if _, err := webhook.CheckURL("http://10.0.0.1/x", true); err == nil {
		t.Errorf("a private address accepted on a development server")
	}

	rc := &receiver{calls: make(chan struct{}, 16)}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db := openStore(t)
	h := webhook.Hook{ID: "w1", URL: srv.URL, Secret: []byte("s"), Events: []string{webhook.MeetingStarted}, Enabled: true, CreatedAt: time.Now(), CreatedBy: "a"}
	if err := db.CreateWebhook(context.Background(), h, audit.Entry{Time: time.Now(), ActorKind: audit.ActorOperator, Action: audit.WebhookCreated, SubjectKind: audit.SubjectOrg}); err != nil {
		t.Fatal(err)
	}
	d := webhook.New(webhook.Options{Store: db, Backoff: []time.Duration{}, Poll: 5 * time.Millisecond})
	if _, _, err := d.Register(context.Background(), "a", srv.URL, []string{webhook.MeetingStarted}); !errors.Is(err, webhook.ErrRefusedAddress) {
		t.Fatalf("registering %s = %v", srv.URL, err)
	}
	go d.Run()
	defer d.Close()
	d.Emit(webhook.Event{Type: webhook.MeetingStarted, Meeting: "m"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, _ := d.Log(context.Background(), "w1")
		if len(log) == 1 && log[0].Status == webhook.StatusFailed {
			if !strings.Contains(log[0].LastError, "refused") {
				t.Fatalf("failed for another reason: %+v", log[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log: %+v", log)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-rc.calls:
		t.Fatal("the receiver on a loopback address was reached")
	default:
	}
}
