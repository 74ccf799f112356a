package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/webhook"
)

// TestWebhookSeesAMeetingStartAndEnd: an administrator registers a
// receiver on loopback (a test server has no TLS and no public URL, so
// it may), two Go participants join a meeting and leave it, and the
// receiver gets meeting.started, a participant.joined and a
// participant.left for each, and meeting.ended with the count, each
// signed with the secret shown at registration and naming nobody.
func TestWebhookSeesAMeetingStartAndEnd(t *testing.T) {
	type got struct {
		sig  string
		body []byte
	}
	deliveries := make(chan got, 64)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		deliveries <- got{r.Header.Get(webhook.SignatureHeader), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	srv := startServer(t, nil)
	admin := srv.Admin(t)
	var reg struct{ Secret string }
	if code := admin.Do(t, "POST", "/api/admin/webhooks", map[string]any{"url": rcv.URL + "/kaigi", "events": webhook.Events}, &reg); code != http.StatusCreated || reg.Secret == "" {
		t.Fatalf("register: %d %+v", code, reg)
	}
	id := srv.newMeeting(t)
	ada := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Ada"})
	bob := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Bob"})
	waitFor(t, ada, "Bob in the roster", func() bool { return participant(ada, bob.Self().ID).ID != "" })
	bob.Leave()
	ada.Leave()

	count := map[string]int{}
	timeout := time.After(20 * time.Second)
	// Deliveries go out in order, one at a time; six are expected.
	for total := 0; total < 6; total++ {
		select {
		case d := <-deliveries:
			if err := webhook.Verify([]byte(reg.Secret), d.sig, d.body, time.Now(), 5*time.Minute); err != nil {
				t.Fatalf("%s: %v", d.body, err)
			}
			var e webhook.Event
			if err := json.Unmarshal(d.body, &e); err != nil || e.Meeting != id {
				t.Fatalf("delivery %s: %v", d.body, err)
			}
			for _, name := range []string{"Ada", "Bob"} {
				if strings.Contains(string(d.body), name) {
					t.Fatalf("a delivery names %s: %s", name, d.body)
				}
			}
			if e.Type == webhook.MeetingEnded && (e.Participants == nil || *e.Participants != 2) {
				t.Fatalf("meeting.ended: %s", d.body)
			}
			count[e.Type]++
		case <-timeout:
			t.Fatalf("timed out; received %v", count)
		}
	}
	if count[webhook.MeetingStarted] != 1 || count[webhook.ParticipantJoined] != 2 || count[webhook.ParticipantLeft] != 2 || count[webhook.MeetingEnded] != 1 {
		t.Fatalf("received %v: want one start, two joins, two leaves, one end", count)
	}
}
