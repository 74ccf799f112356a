package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/kaigi-meet/kaigi/internal/e2ee/e2eetest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
)

// relayMeeting is an end-to-end encrypted meeting of raw sockets: n
// senders (the first made the group and committed the others in) and a
// reader with a small receive window, whose participant ID it returns.
func relayMeeting(t *testing.T, n int) (senders []*rawConn, reader *rawConn, readerID string) {
	t.Helper()
	srv := &testServer{servertest.Start(t, servertest.Options{})}
	set := servertest.OpenSettings()
	set.E2EE = true
	id := srv.Admin(t).NewMeeting(t, set).ID
	join := func(i int, name string) (*rawConn, string) {
		t.Helper()
		var c *rawConn
		if name == "Reader" {
			c = srv.dialSmallWindow(t, fmt.Sprintf("127.0.7.%d", i+1))
		} else {
			c = srv.dialRawFrom(t, fmt.Sprintf("127.0.7.%d", i+1))
		}
		c.send(map[string]any{"type": "hello", "v": 1, "meeting": id, "name": name, "keyPackage": e2eetest.KeyPackage("kp-" + name)})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, b, err := c.conn.Read(ctx)
		var w struct {
			Type string
			Self struct{ ID string }
		}
		if err != nil || json.Unmarshal(b, &w) != nil || w.Type != "welcome" {
			t.Fatalf("%s's hello: %v %s", name, err, b)
		}
		return c, w.Self.ID
	}
	first, _ := join(0, "S0")
	if j := first.nextOf("e2ee_job"); !j.Create {
		t.Fatalf("first job = %+v, want create", j)
	}
	reader, readerID = join(n, "Reader")
	admit := func(joiner *rawConn) {
		t.Helper()
		j := first.nextOf("e2ee_job")
		first.send(map[string]any{"type": "e2ee_commit", "epoch": j.Epoch, "commit": []byte(fmt.Sprint("c", j.Epoch)), "welcome": []byte("w")})
		first.nextOf("e2ee_commit_ok")
		joiner.nextOf("e2ee_welcome")
	}
	admit(reader)
	senders = []*rawConn{first}
	for i := 1; i < n; i++ {
		c, _ := join(i, fmt.Sprint("S", i))
		admit(c)
		senders = append(senders, c)
	}
	return senders, reader, readerID
}

// TestManySendersCannotDisconnectAReader: sixteen members of an
// end-to-end encrypted meeting each send a seventeenth, who reads its
// socket at 2 MB/s through a small window, private messages of 48 KiB at
// about 240 KiB/s, within every sender's own budget but together about
// twice what the reader can take. Before the server held the senders
// back for the reader, its outbox filled and it was closed as too slow.
// Now the reader stays connected, receives every message sent and is
// answered after them; no sender is put out for flooding.
func TestManySendersCannotDisconnectAReader(t *testing.T) {
	const senders = 16
	conns, reader, readerID := relayMeeting(t, senders)

	// The reader, at 2 MB/s, counts what reaches it.
	got := make(chan string, 1<<16)
	go reader.readSlowly(t.Context(), 2<<20, got)
	// Each sender's own socket: anything but relayed traffic is news.
	var told sync.Map // sender index → a closed or rate_limited message
	for i, c := range conns {
		go func() {
			for {
				_, b, err := c.conn.Read(context.Background())
				if err != nil {
					return
				}
				var m serverMsg
				json.Unmarshal(b, &m)
				if m.Type == "closed" || m.Code == "rate_limited" {
					told.LoadOrStore(i, m)
				}
			}
		}()
	}

	// 16 at once (768 KiB, inside the 1 MiB burst), then five a second,
	// perSender in all.
	const perSender = 28
	msg, _ := json.Marshal(map[string]any{"type": "e2ee_message", "epoch": senders, "kind": "chat", "to": readerID, "data": make([]byte, 48<<10)})
	ctx, stop := context.WithTimeout(context.Background(), 60*time.Second)
	defer stop()
	var sending sync.WaitGroup
	for _, c := range conns {
		sending.Add(1)
		go func() {
			defer sending.Done()
			tick := time.NewTicker(time.Second / 5)
			defer tick.Stop()
			for n := range perSender {
				if n >= 16 {
					<-tick.C
				}
				if err := c.conn.Write(ctx, websocket.MessageText, msg); err != nil {
					t.Errorf("sender: %v", err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { sending.Wait(); close(done) }()
	// While they send, the reader must stay.
	received := 0
	began := time.Now()
	for sendingDone := false; !sendingDone; {
		select {
		case m := <-got:
			switch m {
			case "":
				t.Fatalf("the reader was disconnected after %d messages", received)
			case "e2ee_message":
				received++
			}
		case <-done:
			sendingDone = true
		}
	}
	total := int64(senders * perSender)
	t.Logf("the senders wrote %d messages (%.1f MiB) in %.1f s; the reader had received %d", total, float64(total)*48/1024, time.Since(began).Seconds(), received)

	// Everything sent reaches it, and then it is answered.
	reader.send(map[string]any{"type": "ping"})
	deadline := time.After(60 * time.Second)
	pong := false
	for int64(received) < total || !pong {
		select {
		case m := <-got:
			switch m {
			case "":
				t.Fatalf("the reader was disconnected after %d of %d messages", received, total)
			case "e2ee_message":
				received++
			case "pong":
				pong = true
			}
		case <-deadline:
			t.Fatalf("the reader received %d of %d messages (pong: %v)", received, total, pong)
		}
	}
	told.Range(func(k, v any) bool {
		t.Errorf("sender %v was told %+v", k, v)
		return true
	})
}

// dialSmallWindow is dialRawFrom with a 64 KiB receive buffer, as on a
// slow link, where little is in flight: what the server cannot send
// waits in its outbox rather than in the kernel's buffers.
func (s *testServer) dialSmallWindow(t *testing.T, local string) *rawConn {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10) }); cerr != nil {
			return cerr
		}
		return err
	}}
	return s.dialRawWith(t, &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}, local)
}

// TestRelayHoldIsBounded: a member whose link cannot take what the
// meeting relays to it (16 KiB/s, while eight others send it 48 KiB
// messages) holds its senders back only so long: after its outbox has
// stayed over the mark for 5 s it is closed as too slow, and an honest
// member who sent one chat message to everyone meanwhile is answered (its
// socket is read again) within that bound, never put out.
func TestRelayHoldIsBounded(t *testing.T) {
	conns, reader, readerID := relayMeeting(t, 9)
	honest, flooders := conns[0], conns[1:]
	got := make(chan string, 1<<16)
	go reader.readSlowly(t.Context(), 16<<10, got)
	msg, _ := json.Marshal(map[string]any{"type": "e2ee_message", "epoch": 9, "kind": "chat", "to": readerID, "data": make([]byte, 48<<10)})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	for _, c := range flooders {
		go func() {
			tick := time.NewTicker(time.Second / 5)
			defer tick.Stop()
			for n := 0; ctx.Err() == nil; n++ {
				if n >= 16 {
					<-tick.C
				}
				if c.conn.Write(ctx, websocket.MessageText, msg) != nil {
					return
				}
			}
		}()
	}
	// The honest member's socket: pong, how it ends, and the reader's
	// connection as the roster shows it.
	pong := make(chan time.Time, 16)
	ended := make(chan serverMsg, 1)
	readerLost := make(chan struct{})
	go func() {
		lost := false
		for {
			_, b, err := honest.conn.Read(context.Background())
			if err != nil {
				ended <- serverMsg{Type: "socket closed"}
				return
			}
			var m struct {
				serverMsg
				Participant struct{ ID, Connection string }
			}
			json.Unmarshal(b, &m)
			switch {
			case m.Type == "pong":
				pong <- time.Now()
			case m.Type == "closed" || m.Code == "rate_limited":
				ended <- m.serverMsg
			case m.Type == "participant_updated" && m.Participant.ID == readerID && m.Participant.Connection == "reconnecting" && !lost:
				lost = true
				close(readerLost)
			}
		}
	}()
	// Once the reader is congested, the honest member says hello to all.
	time.Sleep(time.Second) // let the flood build up; nothing waits on it
	sent := time.Now()
	honest.send(map[string]any{"type": "e2ee_message", "epoch": 9, "kind": "chat", "data": []byte("hello everyone")})
	honest.send(map[string]any{"type": "ping"})
	select {
	case at := <-pong:
		t.Logf("the honest member was answered %v after its message", at.Sub(sent).Round(time.Millisecond))
		if d := at.Sub(sent); d > 8*time.Second {
			t.Errorf("the honest member was held %v, want at most about 5 s", d)
		}
	case m := <-ended:
		t.Fatalf("the honest member was put out: %+v", m)
	case <-time.After(20 * time.Second):
		t.Fatal("the honest member was never answered")
	}
	// The reader that cannot keep up was closed as too slow: the others
	// see it reconnecting (what it has not read yet is still on its way).
	select {
	case <-readerLost:
	case <-time.After(20 * time.Second):
		t.Fatal("the reader that cannot keep up was never closed")
	}
}
