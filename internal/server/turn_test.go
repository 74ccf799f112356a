package server_test

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	pionturn "github.com/pion/turn/v5"
)

type welcomeICE struct {
	Type       string
	Self       struct{ ID string }
	ICEServers []struct {
		URLs       []string
		Username   string
		Credential string
	}
}

// welcomeOf joins with a raw socket and returns the welcome.
func welcomeOf(t *testing.T, srv *testServer, id string) welcomeICE {
	t.Helper()
	r := srv.dialRaw(t)
	r.send(hello(id, "Probe"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := r.conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var w welcomeICE
	if err := json.Unmarshal(b, &w); err != nil || w.Type != "welcome" {
		t.Fatalf("hello: %s", b)
	}
	return w
}

// TestWelcomeNamesTURN: welcome names the embedded TURN server over UDP and
// TCP, on the address the socket reached, with a credential of the
// participant's own that opens a relay there.
func TestWelcomeNamesTURN(t *testing.T) {
	srv := &testServer{servertest.Start(t, servertest.Options{})}
	id := srv.newMeeting(t)
	w := welcomeOf(t, srv, id)
	if len(w.ICEServers) != 1 {
		t.Fatalf("iceServers %+v, want the TURN server", w.ICEServers)
	}
	ice := w.ICEServers[0]
	addr := "127.0.0.1:" + strconv.Itoa(srv.TURN().Port())
	want := []string{"turn:" + addr + "?transport=udp", "turn:" + addr + "?transport=tcp"}
	if strings.Join(ice.URLs, " ") != strings.Join(want, " ") {
		t.Errorf("urls %v, want %v", ice.URLs, want)
	}
	expiry, pid, _ := strings.Cut(ice.Username, ":")
	e, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || pid != w.Self.ID || time.Until(time.Unix(e, 0)) > srv.TURN().Lifetime() {
		t.Errorf("username %q: want <expiry within %v>:%s", ice.Username, srv.TURN().Lifetime(), w.Self.ID)
	}
	for _, transport := range []string{"udp", "tcp"} {
		var conn net.PacketConn
		if transport == "tcp" {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conn = pionturn.NewSTUNConn(c)
		} else if conn, err = net.ListenPacket("udp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		cl, err := pionturn.NewClient(&pionturn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Conn: conn,
			Username: ice.Username, Password: ice.Credential, Realm: "kaigi"})
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Listen(); err != nil {
			t.Fatal(err)
		}
		relay, err := cl.Allocate()
		if err != nil {
			t.Errorf("allocate over %s with welcome's credential: %v", transport, err)
		} else {
			relay.Close()
		}
		cl.Close()
		conn.Close()
	}
}

// TestTURNHostAndOff: behind a 1:1 NAT (webrtc.public_ips) the TURN
// server is named by the public address; with turn.enabled false there is
// none.
func TestTURNHostAndOff(t *testing.T) {
	srv := &testServer{servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.WebRTC.PublicIPs = []string{"2001:db8::7", "203.0.113.7"}
	}})}
	w := welcomeOf(t, srv, srv.newMeeting(t))
	if len(w.ICEServers) != 1 || !strings.HasPrefix(w.ICEServers[0].URLs[0], "turn:203.0.113.7:") {
		t.Errorf("with public_ips, iceServers %+v", w.ICEServers)
	}
	off := false
	srv = &testServer{servertest.Start(t, servertest.Options{Config: func(c *config.Config) { c.TURN.Enabled = &off }})}
	if w := welcomeOf(t, srv, srv.newMeeting(t)); len(w.ICEServers) != 0 || srv.TURN() != nil {
		t.Errorf("with turn off, iceServers %+v", w.ICEServers)
	}
}

// TestICETCPCandidates: the server offers passive TCP candidates on
// webrtc.tcp_port, with the public IP when one is set; with ice_tcp false
// it offers none.
func TestICETCPCandidates(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	srv := &testServer{servertest.Start(t, servertest.Options{Config: func(c *config.Config) {
		c.WebRTC.TCPPort = port
		c.WebRTC.PublicIPs = []string{"203.0.113.7"}
	}})}
	var tcp int
	for _, c := range candidates(t, srv, srv.newMeeting(t)) {
		f := strings.Fields(c)
		if strings.EqualFold(f[2], "tcp") {
			tcp++
			if f[4] != "203.0.113.7" || f[5] != strconv.Itoa(port) || !strings.Contains(c, "tcptype passive") {
				t.Errorf("TCP candidate %q: want passive on 203.0.113.7:%d", c, port)
			}
		}
	}
	if tcp == 0 {
		t.Error("no TCP candidate")
	}
	if got := srv.SFU().TCPPort(); got != port {
		t.Errorf("SFU's TCP port %d, want %d", got, port)
	}

	off := false
	srv = &testServer{servertest.Start(t, servertest.Options{Config: func(c *config.Config) { c.WebRTC.ICETCP = &off }})}
	for _, c := range candidates(t, srv, srv.newMeeting(t)) {
		if strings.EqualFold(strings.Fields(c)[2], "tcp") {
			t.Errorf("TCP candidate %q with ice_tcp off", c)
		}
	}

	// Loopback as configured, for TCP as for UDP; "auto" (the default)
	// offers none here, where the namespace's veth gives the server
	// another address (scripts/isolated.sh).
	for _, c := range []struct {
		set      config.Switch
		loopback bool
	}{{config.SwitchOn, true}, {config.SwitchOff, false}, {"", false}} {
		srv = &testServer{servertest.Start(t, servertest.Options{Config: func(cfg *config.Config) {
			if c.set != "" {
				cfg.WebRTC.IncludeLoopback = c.set
			}
		}})}
		var tcpLoopback, udpLoopback, tcpOther bool
		for _, cand := range candidates(t, srv, srv.newMeeting(t)) {
			f := strings.Fields(cand)
			if strings.EqualFold(f[2], "tcp") {
				tcpLoopback = tcpLoopback || f[4] == "127.0.0.1"
				tcpOther = tcpOther || f[4] != "127.0.0.1"
			} else {
				udpLoopback = udpLoopback || f[4] == "127.0.0.1"
			}
		}
		if tcpLoopback != c.loopback || udpLoopback != c.loopback || !tcpOther {
			t.Errorf("include_loopback %q: a TCP candidate on 127.0.0.1: %v, a UDP one: %v, a TCP one on another address: %v; want loopback %v",
				c.set, tcpLoopback, udpLoopback, tcpOther, c.loopback)
		}
	}
}
