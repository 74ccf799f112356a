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

// TestManySendersCannotDisconnectAReader: eight members of an end-to-end
// encrypted meeting each send a ninth, who reads its socket at 1 MB/s,
// private messages of 48 KiB at about 240 KiB/s, within every sender's
// own budget but together twice what the reader can take. Before the
// server held the senders back for the reader, its outbox filled and it
// was closed as too slow. Now the reader stays connected, is answered
// soon after the senders stop, and receives every message sent; no
// sender is put out for flooding.
func TestManySendersCannotDisconnectAReader(t *testing.T) {
	srv := &testServer{servertest.Start(t, servertest.Options{})}
	set := servertest.OpenSettings()
	set.E2EE = true
	id := srv.Admin(t).NewMeeting(t, set).ID
	const senders = 16

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
	// The first sender makes the group and commits everyone else in.
	first, _ := join(0, "S0")
	if j := first.nextOf("e2ee_job"); !j.Create {
		t.Fatalf("first job = %+v, want create", j)
	}
	reader, readerID := join(senders, "Reader")
	conns := []*rawConn{first}
	admit := func(joiner *rawConn) {
		t.Helper()
		j := first.nextOf("e2ee_job")
		first.send(map[string]any{"type": "e2ee_commit", "epoch": j.Epoch, "commit": []byte(fmt.Sprint("c", j.Epoch)), "welcome": []byte("w")})
		first.nextOf("e2ee_commit_ok")
		joiner.nextOf("e2ee_welcome")
	}
	admit(reader)
	for i := 1; i < senders; i++ {
		c, _ := join(i, fmt.Sprint("S", i))
		admit(c)
		conns = append(conns, c)
	}

	// The reader, at 2 MB/s, counts what reaches it.
	got := make(chan string, 1<<16)
	go reader.readSlowly(2<<20, got)
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
