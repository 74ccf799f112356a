package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/client"
)

// Meeting bombing by someone who has only the invite link: whatever they
// do from a few addresses, the owner gets in and people who know the
// passcode are not kept out.

// dialRawFrom opens a signalling socket from a given loopback address
// (127.x.y.z), as a different machine would.
func (s *testServer) dialRawFrom(t *testing.T, local string) *rawConn {
	t.Helper()
	return s.dialRawWith(t, from(local), local)
}

// dialRawWith opens a raw socket through hc, which dials from local.
func (s *testServer) dialRawWith(t *testing.T, hc *http.Client, local string) *rawConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+s.URL[len("http"):]+"/ws",
		&websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": []string{s.URL}}})
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	conn.SetReadLimit(4 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return &rawConn{t: t, conn: conn}
}

// helloWith is hello with a passcode.
func helloWith(meetingID, name, passcode string) map[string]any {
	h := hello(meetingID, name)
	h["passcode"] = passcode
	return h
}

// TestWaitingRoomCannotShutTheMeeting: 100 idle sockets from two addresses
// park in the waiting room; only a few per address get there, the owner
// joins their meeting, a guest from elsewhere still waits, and one "deny
// all" clears the waiting room.
func TestWaitingRoomCannotShutTheMeeting(t *testing.T) {
	srv, m, host := defended(t, nil)
	var parked []*rawConn
	codes := map[string]int{}
	for i := range 100 {
		r := srv.dialRawFrom(t, []string{"127.0.0.2", "127.0.0.3"}[i%2])
		r.send(helloWith(m.ID, "Bot", m.Passcode))
		msg := r.next()
		codes[msg.Type+" "+msg.Code+msg.Reason]++
		if msg.Type == "waiting" {
			parked = append(parked, r)
		} else {
			r.conn.CloseNow()
		}
	}
	if len(parked) > 10 {
		t.Fatalf("100 sockets from 2 addresses: %v; want at most 5 waiting per address", codes)
	}
	if codes["refused waiting_room_full"] != 100-len(parked) {
		t.Fatalf("100 sockets from 2 addresses: %v", codes)
	}

	h, err := srv.joinAs(t, client.Options{Meeting: m.ID, Name: "Owner", Cookie: host.Cookie()})
	if err != nil {
		t.Fatalf("the owner was kept out of their own meeting: %v", err)
	}
	if h.Waiting() != "" || h.Self().Role != "host" {
		t.Fatalf("the owner waits (%q) or is not host (%q)", h.Waiting(), h.Self().Role)
	}
	guest := srv.dialRawFrom(t, "127.0.0.4")
	guest.send(helloWith(m.ID, "Gus", m.Passcode))
	if msg := guest.next(); msg.Type != "waiting" {
		t.Fatalf("a guest from another address: %+v", msg)
	}
	want := len(parked) + 1
	if err := h.WaitFor(waitCtx(t), "everyone waiting", func() bool { return len(h.WaitingRoom()) == want }); err != nil {
		t.Fatal(err)
	}

	h.Control("deny", map[string]any{"all": true})
	for _, r := range append(parked, guest) {
		if msg := r.next("waiting"); msg.Type != "refused" || msg.Code != "denied" {
			t.Fatalf("after deny all: %+v", msg)
		}
	}
	if err := h.WaitFor(waitCtx(t), "an empty waiting room", func() bool { return len(h.WaitingRoom()) == 0 }); err != nil {
		t.Fatal(err)
	}
}

// TestPasscodeGuessingLocksOutOnlyTheGuessers: 60 wrong passcodes from six
// addresses cut those addresses off, but someone with the right passcode
// from another address gets in at once, and the host is told that
// passcodes are being guessed.
func TestPasscodeGuessingLocksOutOnlyTheGuessers(t *testing.T) {
	srv, m, host := defended(t, nil)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Owner", Cookie: host.Cookie()})
	codes := map[string]int{}
	for i := range 60 {
		r := srv.dialRawFrom(t, fmt.Sprintf("127.0.1.%d", 1+i%6))
		r.send(helloWith(m.ID, "Script", fmt.Sprintf("%09d", i)))
		codes[r.next().Code]++
		r.conn.CloseNow()
	}
	if codes["wrong_passcode"] != 60 {
		t.Fatalf("60 guesses, 10 from each of 6 addresses: %v", codes)
	}
	// One more from a guessing address is cut off, even with the passcode.
	r := srv.dialRawFrom(t, "127.0.1.1")
	r.send(helloWith(m.ID, "Script", m.Passcode))
	if msg := r.next(); msg.Code != "rate_limited" {
		t.Fatalf("a guessing address: %+v", msg)
	}
	real := srv.dialRawFrom(t, "127.0.2.1")
	real.send(helloWith(m.ID, "Real", m.Passcode))
	if msg := real.next(); msg.Type != "waiting" {
		t.Fatalf("the right passcode from a fresh address: %+v", msg)
	}
	if err := h.WaitFor(waitCtx(t), "Real waiting", func() bool { return len(h.WaitingRoom()) == 1 }); err != nil {
		t.Fatal(err)
	}
	if !h.PasscodeGuessing() {
		t.Fatal("the host was not told that passcodes are being guessed")
	}
}

// TestRefusedJoinsLeaveNoRooms: a join refused with nobody inside leaves
// no live meeting behind.
func TestRefusedJoinsLeaveNoRooms(t *testing.T) {
	srv, _, host := defended(t, nil)
	for i := range 15 {
		m := host.NewMeeting(t, nil)
		r := srv.dialRawFrom(t, fmt.Sprintf("127.0.3.%d", 1+i%2))
		r.send(helloWith(m.ID, "Script", "000000000"))
		if msg := r.next(); msg.Type != "refused" {
			t.Fatalf("a wrong passcode: %+v", msg)
		}
		r.conn.CloseNow()
	}
	if n := srv.Signal().Stats().Meetings; n != 0 {
		t.Fatalf("15 refused joins left %d live meetings", n)
	}
}

// TestJoinsFollowTheStoredMeeting: while the meeting runs, a passcode the
// owner replaced stops working, and once the owner deletes the meeting
// nobody new can join it.
func TestJoinsFollowTheStoredMeeting(t *testing.T) {
	srv, m, host := defended(t, nil)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Owner", Cookie: host.Cookie()})

	var fresh struct{ Passcode string }
	if code := host.Do(t, "PATCH", "/api/meetings/"+m.ID, map[string]any{"newPasscode": true}, &fresh); code != 200 || fresh.Passcode == m.Passcode {
		t.Fatalf("replace the passcode: %d, %q", code, fresh.Passcode)
	}
	old := srv.dialRawFrom(t, "127.0.4.1")
	old.send(helloWith(m.ID, "Old link", m.Passcode))
	if msg := old.next(); msg.Code != "wrong_passcode" {
		t.Fatalf("the replaced passcode: %+v", msg)
	}
	cur := srv.dialRawFrom(t, "127.0.4.2")
	cur.send(helloWith(m.ID, "New link", fresh.Passcode))
	if msg := cur.next(); msg.Type != "waiting" {
		t.Fatalf("the new passcode: %+v", msg)
	}

	if code := host.Do(t, "DELETE", "/api/meetings/"+m.ID, nil, nil); code != 204 {
		t.Fatalf("delete the meeting: %d", code)
	}
	late := srv.dialRawFrom(t, "127.0.4.3")
	late.send(helloWith(m.ID, "Late", fresh.Passcode))
	if msg := late.next(); msg.Code != "meeting_not_found" {
		t.Fatalf("joining a deleted meeting: %+v", msg)
	}
	// Those already in it carry on.
	if h.Waiting() != "" || h.Refusal() != nil {
		t.Fatalf("the owner was put out: %v", h.Refusal())
	}
}

// TestCorrectPasscodeWhileGuessing: scripts guess passcodes 10 times a
// second from each of 60 addresses while someone with the right passcode
// joins 30 times from another address: every one of those joins gets in
// (to the waiting room, as the meeting has one), and how long each took is
// logged (issue 13's closing note).
func TestCorrectPasscodeWhileGuessing(t *testing.T) {
	srv, m, host := defended(t, nil)
	h := srv.mustJoinAs(t, client.Options{Meeting: m.ID, Name: "Owner", Cookie: host.Cookie()})
	ctx, stop := context.WithCancel(context.Background())
	var attempts, guesses atomic.Int64
	var guessing sync.WaitGroup
	for a := range 60 {
		guessing.Add(1)
		go func() {
			defer guessing.Done()
			hc := from(fmt.Sprintf("127.0.4.%d", a+1))
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				attempts.Add(1)
				dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				conn, _, err := websocket.Dial(dctx, "ws"+srv.URL[len("http"):]+"/ws",
					&websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": []string{srv.URL}}})
				if err == nil {
					b, _ := json.Marshal(helloWith(m.ID, "Script", fmt.Sprintf("%03d%06d", a, i)))
					if conn.Write(dctx, websocket.MessageText, b) == nil {
						conn.Read(dctx)
						guesses.Add(1)
					}
					conn.CloseNow()
				}
				cancel()
			}
		}()
	}
	t.Cleanup(func() { stop(); guessing.Wait() })
	waitFor(t, h, "the host told that passcodes are being guessed", h.PasscodeGuessing)

	// One join with the right passcode every 100 ms, for 3 s of guessing.
	var took []time.Duration
	every := time.NewTicker(100 * time.Millisecond)
	defer every.Stop()
	for i := range 30 {
		<-every.C
		real := srv.dialRawFrom(t, "127.0.5.1")
		start := time.Now()
		real.send(helloWith(m.ID, "Real", m.Passcode))
		msg := real.next()
		took = append(took, time.Since(start))
		if msg.Type != "waiting" {
			t.Fatalf("join %d with the right passcode, during the guessing: %+v", i+1, msg)
		}
		real.send(map[string]any{"type": "leave"})
		real.conn.CloseNow()
	}
	stop()
	guessing.Wait()
	slices.Sort(took)
	t.Logf("30 joins with the right passcode while 60 other addresses tried %d times (%d answered): median %v, slowest %v",
		attempts.Load(), guesses.Load(), took[len(took)/2].Round(10*time.Microsecond), took[len(took)-1].Round(10*time.Microsecond))
}
