package whip_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/whip/whiptest"
)

// ingestToken is what creating an ingest token answers.
type ingestToken struct {
	ID, Name, URL, Token string
}

func newToken(t *testing.T, host *servertest.Account, meetingID, name string) ingestToken {
	t.Helper()
	var tok ingestToken
	if code := host.Do(t, "POST", "/api/meetings/"+meetingID+"/ingest", map[string]any{"name": name}, &tok); code != http.StatusCreated {
		t.Fatalf("create an ingest token: %d", code)
	}
	if !strings.HasPrefix(tok.Token, "kaigi_whip_") || !strings.HasSuffix(tok.URL, "/whip/"+meetingID) {
		t.Fatalf("ingest token %+v", tok)
	}
	return tok
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fakeVP8 is a frame's single packet: the SFU forwards payloads it
// cannot read, so any bytes do; a key frame every 30.
func fakeVP8(n int) [][]byte {
	p := make([]byte, 600)
	p[0] = 0x10 // VP8 payload descriptor: start of a partition
	if n%30 != 0 {
		p[1] = 0x01 // inter frame
	}
	return [][]byte{p}
}

// source finds the roster's ingest source named name.
func source(c *client.Client, name string) (client.Participant, bool) {
	for _, p := range c.Roster() {
		if p.Ingest && p.Name == name {
			return p, true
		}
	}
	return client.Participant{}, false
}

// TestWHIPPublishesIntoAMeeting: a pion WHIP client publishes into a
// meeting with the host's token; a participant sees it in the roster
// marked as an ingest source and receives its audio and video; a second
// session on the same token is refused while the first runs; DELETE on
// the session's resource takes it out of the roster; revoking the token
// ends a running session and refuses the token from then on. The token
// is never logged.
func TestWHIPPublishesIntoAMeeting(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{})
	host := srv.Admin(t)
	m := host.NewMeeting(t, servertest.OpenSettings())
	ctx := waitCtx(t)
	watcher, err := client.Join(ctx, client.Options{BaseURL: srv.URL, Meeting: m.ID, Name: "Watcher"})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	tok := newToken(t, host, m.ID, "Stage camera")

	pub, err := whiptest.Publish(ctx, tok.URL, tok.Token)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer pub.Close()
	pub.Pump(ctx, fakeVP8)
	var src client.Participant
	if err := watcher.WaitFor(ctx, "the source in the roster", func() bool { p, ok := source(watcher, "Stage camera"); src = p; return ok }); err != nil {
		t.Fatal(err)
	}
	if src.SignedIn || src.Account != "" || src.Role != "participant" {
		t.Fatalf("the source is shown as %+v", src)
	}
	for _, s := range []string{"camera", "microphone"} {
		if err := watcher.WaitFor(ctx, "the source's "+s, func() bool { rt := watcher.Track(src.ID, s); return rt != nil && rt.Packets() >= 20 }); err != nil {
			t.Fatal(err)
		}
	}

	// One session per token at a time.
	if _, err := whiptest.Publish(ctx, tok.URL, tok.Token); !refusedWith(err, http.StatusConflict, "token_in_use") {
		t.Fatalf("a second session on the token: %v", err)
	}

	// DELETE ends the session: the source leaves the roster.
	if code, err := pub.Delete(ctx); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE the session: %d %v", code, err)
	}
	if err := watcher.WaitFor(ctx, "the source to leave", func() bool { _, ok := source(watcher, "Stage camera"); return !ok }); err != nil {
		t.Fatal(err)
	}
	if code, _ := pub.Delete(ctx); code != http.StatusNotFound {
		t.Fatalf("DELETE of an ended session: %d", code)
	}

	// The token serves again; revoking it ends that session.
	again, err := whiptest.Publish(ctx, tok.URL, tok.Token)
	if err != nil {
		t.Fatalf("publish after the first session ended: %v", err)
	}
	defer again.Close()
	if err := watcher.WaitFor(ctx, "the source back", func() bool { _, ok := source(watcher, "Stage camera"); return ok }); err != nil {
		t.Fatal(err)
	}
	if code := host.Do(t, "DELETE", "/api/meetings/"+m.ID+"/ingest/"+tok.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	if err := watcher.WaitFor(ctx, "the revoked token's source to leave", func() bool { _, ok := source(watcher, "Stage camera"); return !ok }); err != nil {
		t.Fatal(err)
	}
	if _, err := whiptest.Publish(ctx, tok.URL, tok.Token); !refusedWith(err, http.StatusUnauthorized, "bad_token") {
		t.Fatalf("a revoked token: %v", err)
	}
	if strings.Contains(srv.Logs(), tok.Token) || strings.Contains(srv.Logs(), strings.TrimPrefix(tok.Token, "kaigi_whip_")) {
		t.Fatal("the server logged the ingest token")
	}
}

// refusedWith reports whether err is a WHIP refusal with status and
// error code.
func refusedWith(err error, status int, code string) bool {
	r, ok := err.(*whiptest.Refusal)
	return ok && r.Status == status && strings.Contains(r.Body, `"code":"`+code+`"`) && strings.Contains(r.Body, `"message":"`)
}
