package server_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// defended starts a server and a meeting with the product's defaults:
// passcode, waiting room, no join before host, host-only screen share.
func defended(t *testing.T, sig func(*signal.Options)) (*testServer, servertest.Meeting, *servertest.Account) {
	t.Helper()
	srv := &testServer{servertest.Start(t, servertest.Options{Signal: sig})}
	host := srv.Admin(t)
	m := host.NewMeeting(t, nil)
	if !m.Settings.E2EE || !m.Settings.Passcode || !m.Settings.WaitingRoom || m.Settings.JoinBeforeHost || len(m.Passcode) != 9 {
		t.Fatalf("new meeting %+v does not have the safe defaults", m)
	}
	// These tests are about the controls, with pion clients that do not
	// run MLS: the same meeting without end-to-end encryption.
	m.Settings.E2EE = false
	if code := host.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": m.Settings}, nil); code != 200 {
		t.Fatalf("turn E2EE off for the test: %d", code)
	}
	return srv, m, host
}

func TestPasscodeAndWaitingRoom(t *testing.T) {
	srv, m, host := defended(t, nil)

	_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Mallory", Passcode: "000000000"})
	refusedWith(t, err, "wrong_passcode")
	_, err = srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Mallory"})
	refusedWith(t, err, "wrong_passcode")

	// Before the host: everyone waits for the host.
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus", Passcode: m.Passcode, Publish: []string{"camera"}})
	if gus.Waiting() != "host_absent" {
		t.Fatalf("Gus waits for %q, want host_absent", gus.Waiting())
	}
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie(), Publish: []string{"camera"}})
	if h.Waiting() != "" || h.Self().Role != "host" {
		t.Fatalf("the host waits (%q) or is not host (%q)", h.Waiting(), h.Self().Role)
	}
	pump(t, h.Local("camera"))
	err = gus.WaitFor(waitCtx(t), "waiting to be admitted", func() bool { return gus.Waiting() == "waiting_room" })
	if err != nil {
		t.Fatal(err)
	}
	// The host sees Gus waiting, as a guest; Gus sees nobody yet.
	err = h.WaitFor(waitCtx(t), "Gus in the waiting room", func() bool {
		w := h.WaitingRoom()
		return len(w) == 1 && w[0].Name == "Gus" && !w[0].SignedIn
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gus.Roster()) != 0 {
		t.Fatalf("someone waiting sees the roster: %v", gus.Roster())
	}
	// A waiting person can do nothing but wait.
	n := len(gus.Errors())
	gus.Control("admit", map[string]any{"participant": string(gus.Self().ID), "all": true})
	if code := lastError(t, gus, n); code != "not_joined" {
		t.Fatalf("control from the waiting room = %s", code)
	}

	h.Control("admit", map[string]any{"participant": h.WaitingRoom()[0].ID})
	err = gus.WaitFor(waitCtx(t), "admission", func() bool { return gus.Waiting() == "" && len(gus.Roster()) == 2 })
	if err != nil {
		t.Fatal(err)
	}
	pump(t, gus.Local("camera"))
	receiving(t, h, gus, "camera", 20)
	receiving(t, gus, h, "camera", 20)

	// Another is denied and told so.
	dee := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Dee", Passcode: m.Passcode})
	waitFor(t, h, "Dee waiting", func() bool { return len(h.WaitingRoom()) == 1 })
	h.Control("deny", map[string]any{"participant": h.WaitingRoom()[0].ID})
	err = dee.WaitFor(waitCtx(t), "denial", func() bool { return dee.Refusal() != nil })
	if err != nil {
		t.Fatal(err)
	}
	if dee.Refusal().Code != "denied" {
		t.Fatalf("Dee refused with %v", dee.Refusal())
	}
	waitFor(t, h, "an empty waiting room", func() bool { return len(h.WaitingRoom()) == 0 })
}

func TestLockedMeeting(t *testing.T) {
	srv, m, host := defended(t, nil)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	h.Control("lock", map[string]any{"locked": true})
	waitFor(t, h, "locked", func() bool { return h.Settings()["locked"] == true })
	_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Late", Passcode: m.Passcode})
	refusedWith(t, err, "meeting_locked")
	// The host can always come back to their own meeting.
	h2 := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host again", Cookie: host.Cookie()})
	if h2.Waiting() != "" {
		t.Fatal("the host was kept out of their locked meeting")
	}
	h.Control("lock", map[string]any{"locked": false})
	waitFor(t, h, "unlocked", func() bool { return h.Settings()["locked"] == false })
	if c, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Late", Passcode: m.Passcode}); err != nil || c.Waiting() != "waiting_room" {
		t.Fatalf("after unlocking: %v", err)
	}
}

// TestRemoveAndBan: a banned person cannot come back as someone new from
// the same browser or network: not as a guest with a fresh browser, not
// by signing out; signing in with another account from there puts them
// in front of a host, marked, whatever the waiting room setting.
func TestRemoveAndBan(t *testing.T) {
	srv, m, host := defended(t, nil)
	set := m.Settings
	set.WaitingRoom = false
	host.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	una := srv.NewAccount(t, "una@example.org", "Una")
	tom := srv.NewAccount(t, "tom@example.org", "Tom")

	trollNet, unaNet := from("127.0.2.1"), from("127.0.2.2")
	troll := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Troll", Passcode: m.Passcode, Device: "troll-device", HTTPClient: trollNet})
	u := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Una", Passcode: m.Passcode, Cookie: una.Cookie(), Device: "una-device", HTTPClient: unaNet})
	// A participant may not remove anyone.
	n := len(u.Errors())
	u.Control("remove", map[string]any{"participant": troll.Self().ID, "ban": true})
	if code := lastError(t, u, n); code != "forbidden" {
		t.Fatalf("participant removing = %s", code)
	}

	h.Control("remove", map[string]any{"participant": troll.Self().ID, "ban": true})
	select {
	case <-troll.Done():
	case <-waitCtx(t).Done():
		t.Fatal("the removed participant's socket stayed open")
	}
	if r := troll.ClosedReason(); r != "removed" {
		t.Fatalf("closed with %q", r)
	}
	waitFor(t, h, "the troll gone", func() bool { return participant(h, troll.Self().ID).ID == "" })

	// Same browser from elsewhere: refused. A fresh browser from the same
	// network as a guest: refused.
	_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Troll again", Passcode: m.Passcode, Device: "troll-device", HTTPClient: from("127.0.2.9")})
	refusedWith(t, err, "banned")
	_, err = srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Troll in private", Passcode: m.Passcode, Device: "fresh-device", HTTPClient: trollNet})
	refusedWith(t, err, "banned")

	// Signed in with some account, fresh browser, same network: not
	// refused (an office shares one address) but held for a host, marked,
	// and "admit all" leaves them there.
	back, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Tom", Passcode: m.Passcode, Device: "tom-device", Cookie: tom.Cookie(), HTTPClient: trollNet})
	if err != nil || back.Waiting() != "waiting_room" {
		t.Fatalf("an account from the banned network = %v, waiting %q; want the waiting room", err, back.Waiting())
	}
	waitFor(t, h, "the host told", func() bool {
		w := h.WaitingRoom()
		return len(w) == 1 && w[0].Name == "Tom" && w[0].BannedNetwork
	})
	n = len(h.Errors())
	h.Control("admit", map[string]any{"all": true})
	// The socket's messages are handled in order: once this one's error is
	// back, "admit all" was done.
	h.Control("mute", map[string]any{"participant": "nobody"})
	lastError(t, h, n)
	// A guest from elsewhere comes straight in (no waiting room).
	if _, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Gus", Passcode: m.Passcode, HTTPClient: from("127.0.2.3")}); err != nil {
		t.Fatalf("a guest from another network: %v", err)
	}
	if back.Waiting() != "waiting_room" || len(h.WaitingRoom()) != 1 {
		t.Fatalf("admit all let the marked joiner in: waiting %q, list %v", back.Waiting(), h.WaitingRoom())
	}

	// A banned member who signs out and comes back as a guest from another
	// browser on the same network: refused.
	h.Control("remove", map[string]any{"participant": u.Self().ID, "ban": true})
	<-u.Done()
	_, err = srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Not Una", Passcode: m.Passcode, Device: "other-device", HTTPClient: unaNet})
	refusedWith(t, err, "banned")
	_, err = srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Una", Passcode: m.Passcode, Cookie: una.Cookie(), Device: "new-device", HTTPClient: from("127.0.2.4")})
	refusedWith(t, err, "banned")
}

// waitFor waits (bounded) until cond holds for c, or fails the test.
func waitFor(t *testing.T, c *client.Client, what string, cond func() bool) {
	t.Helper()
	if err := c.WaitFor(waitCtx(t), what, cond); err != nil {
		t.Fatal(err)
	}
}

// from is an HTTP client whose connections come from a given loopback
// address (127.x.y.z), as another machine's would.
func from(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

func TestPermissionsAreEnforcedByTheServer(t *testing.T) {
	srv, m, host := defended(t, nil)
	set := m.Settings
	set.WaitingRoom, set.Unmute = false, meeting.WhoHosts
	host.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie(), Publish: []string{"microphone"}})
	pump(t, h.Local("microphone"))
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus", Passcode: m.Passcode, Publish: []string{"microphone"}})
	pump(t, gus.Local("microphone"))
	receiving(t, h, gus, "microphone", 20)

	// Sharing the screen is for hosts: the offer is refused and nothing is
	// published.
	n := len(gus.Errors())
	if _, err := gus.Publish("screen"); err != nil {
		t.Fatal(err)
	}
	if code := lastError(t, gus, n); code != "forbidden" {
		t.Fatalf("participant publishing a screen = %s", code)
	}
	n = len(gus.Errors())
	gus.SetMedia(true, false, true)
	if code := lastError(t, gus, n); code != "forbidden" {
		t.Fatalf("participant claiming to share = %s", code)
	}
	for _, ctl := range []struct {
		typ    string
		fields map[string]any
	}{
		{"mute", map[string]any{"participant": h.Self().ID}},
		{"mute_all", nil},
		{"stop_video", map[string]any{"participant": h.Self().ID}},
		{"rename", map[string]any{"participant": h.Self().ID, "name": "Loser"}},
		{"set_role", map[string]any{"participant": gus.Self().ID, "role": "cohost"}},
		{"lock", map[string]any{"locked": true}},
		{"end", nil},
	} {
		n := len(gus.Errors())
		gus.Control(ctl.typ, ctl.fields)
		if code := lastError(t, gus, n); code != "forbidden" {
			t.Errorf("participant %s = %s, want forbidden", ctl.typ, code)
		}
	}
	if p := participant(gus, h.Self().ID); p.Name != "Host" {
		t.Fatalf("the host was renamed to %q", p.Name)
	}

	// The host mutes Gus. Gus's client keeps sending: the server stops
	// forwarding anyway.
	h.Control("mute", map[string]any{"participant": gus.Self().ID})
	waitFor(t, gus, "being told", func() bool { return len(gus.Stopped()) == 1 && gus.Stopped()[0] == "microphone" })
	waitFor(t, h, "Gus shown muted", func() bool { return !participant(h, gus.Self().ID).Audio })
	rt := h.Track(gus.Self().ID, "microphone")
	mic := gus.Local("microphone")
	// Let packets already in flight drain (10 packets' time), then the
	// count must not move while Gus sends 25 more.
	drain := mic.Sent()
	waitFor(t, gus, "Gus to send 10 more packets", func() bool { return mic.Sent() >= drain+10 })
	before, sent := rt.Packets(), mic.Sent()
	waitFor(t, gus, "Gus to send 25 more packets", func() bool { return mic.Sent() >= sent+25 })
	if got := rt.Packets(); got != before {
		t.Fatalf("a host-muted microphone was still forwarded: %d more packets", got-before)
	}
	// Unmuting is for hosts in this meeting: refused, still silent.
	n = len(gus.Errors())
	gus.SetMedia(true, false, false)
	if code := lastError(t, gus, n); code != "forbidden" {
		t.Fatalf("unmute = %s", code)
	}
	// The host lets participants unmute; Gus does; audio flows again.
	set.Unmute = meeting.WhoEveryone
	h.Control("settings", map[string]any{"settings": set})
	waitFor(t, gus, "new settings", func() bool { return gus.Settings()["unmute"] == "everyone" })
	gus.SetMedia(true, false, false)
	receiving(t, h, gus, "microphone", rt.Packets()+20)
}

// TestCoHostsModerate: a co-host can admit people, a demoted one cannot.
func TestCoHostsModerate(t *testing.T) {
	srv, m, host := defended(t, nil)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	ann := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Ann", Passcode: m.Passcode})
	waitFor(t, h, "Ann waiting", func() bool { return len(h.WaitingRoom()) == 1 })
	h.Control("admit", map[string]any{"all": true})
	waitFor(t, ann, "admission", func() bool { return ann.Waiting() == "" })
	h.Control("set_role", map[string]any{"participant": ann.Self().ID, "role": "cohost"})
	waitFor(t, ann, "co-host", func() bool { return participant(ann, ann.Self().ID).Role == "cohost" })

	bo := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Bo", Passcode: m.Passcode})
	waitFor(t, ann, "Bo waiting", func() bool { return len(ann.WaitingRoom()) == 1 })
	ann.Control("admit", map[string]any{"participant": ann.WaitingRoom()[0].ID})
	if err := bo.WaitFor(waitCtx(t), "admission by the co-host", func() bool { return bo.Waiting() == "" }); err != nil {
		t.Fatal(err)
	}
	ann.Control("rename", map[string]any{"participant": bo.Self().ID, "name": "Bo (guest)"})
	waitFor(t, bo, "renamed", func() bool { return participant(bo, bo.Self().ID).Name == "Bo (guest)" })
	// Only the host may end the meeting.
	n := len(ann.Errors())
	ann.Control("end", nil)
	if code := lastError(t, ann, n); code != "forbidden" {
		t.Fatalf("co-host ending = %s", code)
	}
	h.Control("end", nil)
	for _, c := range []*client.Client{ann, bo, h} {
		select {
		case <-c.Done():
		case <-waitCtx(t).Done():
			t.Fatal("a socket stayed open after the meeting ended")
		}
		if r := c.ClosedReason(); r != "ended" {
			t.Errorf("closed with %q, want ended", r)
		}
	}
}

// TestSignInRequired: a meeting for accounts only refuses guests.
func TestSignInRequired(t *testing.T) {
	srv, m, host := defended(t, nil)
	set := m.Settings
	set.RequireSignIn, set.WaitingRoom, set.JoinBeforeHost = true, false, true
	host.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil)
	_, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Guest", Passcode: m.Passcode})
	refusedWith(t, err, "sign_in_required")
	una := srv.NewAccount(t, "una@example.org", "Una")
	c := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Una", Passcode: m.Passcode, Cookie: una.Cookie()})
	if !c.Self().SignedIn {
		t.Fatal("Una is not shown as signed in")
	}
}

// TestGuessingIsRateLimited: a script trying hundreds of meeting IDs gets
// nothing and is cut off, while a meeting in progress carries on.
func TestGuessingIsRateLimited(t *testing.T) {
	srv := startServer(t, nil)
	id := srv.newMeeting(t)
	ada := srv.join(t, id, "Ada", "camera")
	bob := srv.join(t, id, "Bob", "camera")
	receiving(t, ada, bob, "camera", 10)

	codes := map[string]int{}
	start := time.Now()
	for i := range 300 {
		r := srv.dialRaw(t)
		r.send(hello(fmt.Sprintf("%04d-0000-0000-0000", i), "Script"))
		codes[r.next().Code]++
		r.conn.CloseNow()
	}
	// The limit is a burst that refills: on a loaded machine the 300
	// guesses take seconds, and each refill lets one more through. Allow
	// exactly what the limiter gives over the time they took: its bucket
	// is full when they start (the joins above took nothing from it) and
	// refills one every f.Every from the first guess it counts, which
	// comes after start; one more would pass a limiter off by one.
	took := time.Since(start)
	f := signal.DefaultLimits.FailuresPerIP
	allowed := f.Burst + int(took/f.Every)
	if codes["meeting_not_found"] > allowed || codes["rate_limited"] < 300-allowed {
		t.Fatalf("300 guesses in %v: %v; want at most %d answered before the limit", took.Round(time.Millisecond), codes, allowed)
	}
	// Even the real meeting is closed to this address for now...
	r := srv.dialRaw(t)
	r.send(hello(id, "Script"))
	if m := r.next(); m.Code != "rate_limited" {
		t.Fatalf("real meeting from the guessing address: %+v", m)
	}
	// ...but those already in it notice nothing.
	receiving(t, ada, bob, "camera", ada.Track(bob.Self().ID, "camera").Packets()+30)
	receiving(t, bob, ada, "camera", bob.Track(ada.Self().ID, "camera").Packets()+30)
}

// TestSecretsNeverLogged: after accounts, two-factor, sessions, meetings
// with passcodes and joins, the server's log holds none of the secrets.
func TestSecretsNeverLogged(t *testing.T) {
	srv, m, host := defended(t, nil)
	var e struct{ Secret string }
	host.Do(t, "POST", "/api/me/2fa/begin", nil, &e)
	code, _ := auth.TOTPCode(e.Secret, time.Now())
	var rc struct{ RecoveryCodes []string }
	host.Do(t, "POST", "/api/me/2fa/confirm", map[string]string{"code": code}, &rc)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus", Passcode: m.Passcode})
	waitFor(t, h, "Gus waiting", func() bool { return len(h.WaitingRoom()) == 1 })
	h.Control("admit", map[string]any{"all": true})
	waitFor(t, gus, "admission", func() bool { return gus.Waiting() == "" })

	logs := srv.Logs()
	if !strings.Contains(logs, "two-factor enabled") || !strings.Contains(logs, "participant joined") {
		t.Fatalf("the log capture missed the flow:\n%s", logs)
	}
	secrets := append([]string{host.Pass, e.Secret, m.Passcode, h.ResumeToken(), gus.ResumeToken(),
		strings.TrimPrefix(host.Cookie(), "kaigi_session=")}, rc.RecoveryCodes...)
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log contains a secret (%.6s…)", s)
		}
	}
	for _, word := range []string{"$argon2id$"} {
		if strings.Contains(logs, word) {
			t.Errorf("the log contains a password hash")
		}
	}
}

// TestSignOutEverywhereEndsHostPowers: a host who signs out everywhere
// (their account may be in someone else's hands) is taken out of the live
// meeting at once, and the resume token of that socket no longer brings
// back the host: whoever holds it joins afresh, as a guest.
func TestSignOutEverywhereEndsHostPowers(t *testing.T) {
	srv, m, host := defended(t, nil)
	set := m.Settings
	set.JoinBeforeHost = true
	host.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"settings": set}, nil)
	cookie := host.Cookie()
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Host", Cookie: cookie})
	if h.Self().Role != "host" {
		t.Fatalf("the owner joined as %q", h.Self().Role)
	}
	gus := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Gus", Passcode: m.Passcode})
	if gus.Waiting() != "waiting_room" {
		t.Fatalf("guest: waiting %q", gus.Waiting())
	}
	waitFor(t, h, "Gus waiting", func() bool { return len(h.WaitingRoom()) == 1 })
	h.Control("admit", map[string]any{"participant": h.WaitingRoom()[0].ID})
	waitFor(t, gus, "admitted", func() bool { return gus.Waiting() == "" && gus.Self().ID != "" })
	token := h.ResumeToken()

	if code := host.Do(t, "POST", "/api/auth/signout-everywhere", nil, nil); code != http.StatusNoContent {
		t.Fatalf("sign out everywhere: %d", code)
	}
	select {
	case <-h.Done():
	case <-waitCtx(t).Done():
		t.Fatal("the host's socket stayed open after signing out everywhere")
	}
	if r := h.ClosedReason(); r != "signed_out" {
		t.Fatalf("closed with %q, want signed_out", r)
	}
	waitFor(t, gus, "the host gone", func() bool { return participant(gus, h.Self().ID).ID == "" })

	// The old token, with the old (dead) cookie or none: a new joiner, not
	// the host, and in the waiting room like any guest.
	for _, c := range []string{cookie, ""} {
		back, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Host?", Resume: token, Cookie: c, Passcode: m.Passcode})
		if err != nil {
			t.Fatalf("joining with the old token: %v", err)
		}
		if back.Resumed() || back.Waiting() != "waiting_room" {
			t.Fatalf("the old token (cookie %v) resumed %v, waiting %q: want a fresh guest in the waiting room", c != "", back.Resumed(), back.Waiting())
		}
		back.Leave()
	}
}
