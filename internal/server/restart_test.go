package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestRestartKeepsWhoWasIn: the server process is killed (SIGKILL) and
// started again on the same address and data. Those admitted come back
// with their resume tokens as the same participants, with their roles,
// without the waiting room or the passcode; someone a host removed, or
// who left, does not; a token presented without the account it joined
// with starts afresh, as a guest.
func TestRestartKeepsWhoWasIn(t *testing.T) {
	p := servertest.StartProcess(t, servertest.Binary(t))
	srv := &testServer{p.Server}
	host := p.Admin(t)
	set := meeting.DefaultSettings()
	set.E2EE = false
	m := host.NewMeeting(t, &set)

	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	var guests []*client.Client
	for _, name := range []string{"Gus", "Rex", "Lea"} {
		g := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: name, Passcode: m.Passcode})
		if g.Waiting() != "waiting_room" {
			t.Fatalf("%s: waiting %q", name, g.Waiting())
		}
		guests = append(guests, g)
	}
	waitFor(t, h, "three waiting", func() bool { return len(h.WaitingRoom()) == 3 })
	h.Control("admit", map[string]any{"all": true})
	for _, g := range guests {
		waitFor(t, g, "admitted", func() bool { return g.Waiting() == "" && g.Self().ID != "" })
	}
	gus, rex, lea := guests[0], guests[1], guests[2]
	h.Control("set_role", map[string]any{"participant": gus.Self().ID, "role": "cohost"})
	waitFor(t, gus, "co-host", func() bool { return participant(gus, gus.Self().ID).Role == "cohost" })
	rexToken, leaToken := rex.ResumeToken(), lea.ResumeToken()
	h.Control("remove", map[string]any{"participant": rex.Self().ID})
	<-rex.Done()
	lea.Leave()
	waitFor(t, h, "Rex and Lea gone", func() bool { return len(h.Roster()) == 2 })

	// What the server keeps is written behind the meeting's back: wait
	// until the database says what the meeting does.
	db := openData(t, p.Data)
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		kept, err := db.KeptBefore(ctx, meeting.ID(m.ID), "a later run")
		if err != nil {
			t.Fatal(err)
		}
		roles := map[meeting.ParticipantID]meeting.Role{}
		for _, k := range kept {
			roles[k.Participant.ID] = k.Participant.Role
		}
		if len(kept) == 2 && roles[meeting.ParticipantID(h.Self().ID)] == meeting.RoleHost &&
			roles[meeting.ParticipantID(gus.Self().ID)] == meeting.RoleCoHost {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database keeps %+v; want the host and co-host Gus", kept)
		}
		time.Sleep(20 * time.Millisecond) // polling another process's database
	}
	db.Close()

	hostToken, gusToken := h.ResumeToken(), gus.ResumeToken()
	hostID, gusID := h.Self().ID, gus.Self().ID
	killed := time.Now()
	p.Kill()
	p.Start()

	// The host's token without the host's session: a fresh guest, waiting.
	if c, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Thief", Resume: hostToken, Passcode: m.Passcode}); err != nil || c.Resumed() || c.Waiting() == "" {
		t.Fatalf("the host's token without the account: err %v; want a fresh joiner in the waiting room", err)
	}
	h2 := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Resume: hostToken, Cookie: host.Cookie()})
	resumed := time.Since(killed)
	if !h2.Resumed() || h2.Self().ID != hostID || h2.Self().Role != "host" {
		t.Fatalf("the host came back as %+v (resumed %v), want %s, host", h2.Self(), h2.Resumed(), hostID)
	}
	g2 := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus", Resume: gusToken})
	if !g2.Resumed() || g2.Waiting() != "" || g2.Self().ID != gusID || g2.Self().Role != "cohost" {
		t.Fatalf("Gus came back as %+v (resumed %v, waiting %q), want %s, co-host, admitted", g2.Self(), g2.Resumed(), g2.Waiting(), gusID)
	}
	for name, tok := range map[string]string{"Rex (removed)": rexToken, "Lea (left)": leaToken} {
		c, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Back", Resume: tok, Passcode: m.Passcode})
		if err != nil || c.Resumed() || c.Waiting() != "waiting_room" {
			t.Errorf("%s with their old token: err %v; want a fresh joiner in the waiting room", name, err)
		}
	}
	waitFor(t, h2, "both connected", func() bool {
		return participant(h2, gusID).Connection == "connected" && participant(h2, hostID).ID == hostID
	})
	t.Logf("the host resumed %v after the kill", resumed.Round(time.Millisecond))
}

// openData opens a data directory's database (another process's, read
// while it runs).
func openData(t *testing.T, dir string) *store.SQLite {
	t.Helper()
	sealer, err := auth.LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenSQLite(context.Background(), dir, sealer)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// drainConfig writes a configuration file with a drain bound.
func drainConfig(t *testing.T, d time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kaigi.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("drain_timeout: %s\n", d)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDrainOnSIGTERM: SIGTERM stops new joins (refused with
// server_draining, which clients retry) and tells everyone in; a
// participant who reconnects meanwhile still resumes; the process exits
// as soon as the last one leaves, long before its bound.
func TestDrainOnSIGTERM(t *testing.T) {
	p := servertest.StartProcess(t, servertest.Binary(t), "--config", drainConfig(t, 5*time.Minute))
	srv := &testServer{p.Server}
	host := p.Admin(t)
	set := servertest.OpenSettings()
	m := host.NewMeeting(t, set)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus"})

	p.Signal(syscall.SIGTERM)
	for _, c := range []*client.Client{h, gus} {
		waitFor(t, c, "told of the drain", func() bool { s, ok := c.Draining(); return ok && s > 200 && s <= 300 })
	}
	_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Late"})
	refusedWith(t, err, "server_draining")
	// Someone already in who loses their connection comes back.
	token := gus.ResumeToken()
	gus.Drop()
	back := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus", Resume: token})
	if !back.Resumed() {
		t.Fatal("a participant reconnecting during the drain did not resume")
	}
	waitFor(t, back, "told of the drain", func() bool { _, ok := back.Draining(); return ok })

	back.Leave()
	h.Leave()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("after everyone left: %v (want exit status 0, well before the 5-minute bound)", err)
	}
}

// TestDrainBound: with someone still in, the drain ends at its bound: the
// client is told the server stops (closed, shutdown: it reconnects), and
// the process exits cleanly.
func TestDrainBound(t *testing.T) {
	p := servertest.StartProcess(t, servertest.Binary(t), "--config", drainConfig(t, 2*time.Second))
	srv := &testServer{p.Server}
	m := p.Admin(t).NewMeeting(t, servertest.OpenSettings())
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus"})
	p.Signal(syscall.SIGTERM)
	// Told within what is left of the 2 s (a busy machine may take a moment).
	waitFor(t, gus, "told of the drain", func() bool { s, ok := gus.Draining(); return ok && s >= 1 && s <= 2 })
	select {
	case <-gus.Done():
	case <-waitCtx(t).Done():
		t.Fatal("the socket stayed open past the drain")
	}
	if r := gus.ClosedReason(); r != "shutdown" {
		t.Fatalf("closed with %q, want shutdown", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
