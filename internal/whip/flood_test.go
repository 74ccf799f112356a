package whip_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/whip/whiptest"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// A WHEP viewer's or a WHIP source's client can name made-up SSRCs in its
// RTCP as a participant's can: pion opens a read stream for each and
// keeps it for the connection's life. Their PeerConnections had no
// counting buffer factory (review R3-4: +56 MB of the server's heap for
// 0.5 MB of one viewer's RTCP); they now have the participants' bounds
// (internal/sfu, rtcpsink.go), and past one the session ends.

// floodReports sends receiver reports naming n distinct made-up SSRCs,
// 31 to a packet, until stop.
func floodReports(pc *webrtc.PeerConnection, n int, stop func() bool) {
	for i := 0; i < n && !stop(); {
		rr := &rtcp.ReceiverReport{SSRC: 1}
		for ; len(rr.Reports) < 31 && i < n; i++ {
			rr.Reports = append(rr.Reports, rtcp.ReceptionReport{SSRC: 0x40000000 + uint32(i)})
		}
		if err := pc.WriteRTCP([]rtcp.Packet{rr}); err != nil {
			return
		}
		// Paced so that loopback UDP keeps them.
		if (i/31)%8 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// hostedMeeting starts a server with an open meeting whose host, the
// administrator, is in it (h) until the test ends; ctx ends with the test or
// after 60 s.
func hostedMeeting(t *testing.T) (*servertest.Server, *servertest.Account, servertest.Meeting, *client.Client, context.Context) {
	t.Helper()
	srv := servertest.Start(t, servertest.Options{})
	host := srv.Admin(t)
	m := host.NewMeeting(t, servertest.OpenSettings())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	h, err := client.Join(ctx, client.Options{BaseURL: srv.URL, Meeting: m.ID, Name: "Host", Cookie: host.Cookie()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return srv, host, m, h, ctx
}

// TestWHEPViewerFloodingSSRCsIsClosed: two WHEP viewers watch a speaker.
// One sends receiver reports naming 60,000 made-up SSRCs (0.5 MB of
// RTCP): its session ends once the SFU's bound is passed (out of the
// roster, its resource gone), and the server's heap does not keep what
// it made pion open. The other, honest, viewer stays and goes on
// receiving.
func TestWHEPViewerFloodingSSRCsIsClosed(t *testing.T) {
	srv, host, m, h, ctx := hostedMeeting(t)
	alice := joinSpeaker(ctx, t, srv.URL, m.ID, "Alice", 80, 1000, 700, 1)
	alice.mic.SetAudioLevel(20, true)

	watch := func(name string) *whiptest.Viewer {
		tok := newEgressToken(t, host, m.ID, name)
		v, err := whiptest.Watch(ctx, tok.URL, tok.Token)
		if err != nil {
			t.Fatalf("%s watches: %v", name, err)
		}
		t.Cleanup(v.Close)
		if err := waitViewer(ctx, v, name+"'s first packets", func() bool { a, vid := v.Packets(); return a > 10 && vid > 10 }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	honest := watch("Stage screen")
	eve := watch("Eve")

	before := heapInUse()
	gone := func() bool { _, ok := viewerIn(h, "Eve"); return !ok }
	floodReports(eve.PC, 60000, gone)
	if err := h.WaitFor(ctx, "the flooding viewer out of the roster", gone); err != nil {
		t.Fatal(err)
	}
	if code, err := eve.Delete(ctx); err != nil || code != http.StatusNotFound {
		t.Fatalf("DELETE of the flooding viewer's session: %d %v, want 404 (ended)", code, err)
	}
	after := heapInUse()
	grown := int64(after) - int64(before)
	t.Logf("heap in use %+d bytes across the flood and the close", grown)
	if grown > 8<<20 {
		t.Errorf("the server's heap grew %d bytes: the flood's streams were kept", grown)
	}

	if _, ok := viewerIn(h, "Stage screen"); !ok {
		t.Fatal("the honest viewer was taken out too")
	}
	_, vid := honest.Packets()
	if err := waitViewer(ctx, honest, "the honest viewer's video after the flood", func() bool { _, n := honest.Packets(); return n > vid+30 }); err != nil {
		t.Fatal(err)
	}
}

// TestWHIPSourceFloodingSSRCsIsClosed: a WHIP source's client names
// made-up SSRCs in its RTCP; its session ends once the SFU's bound is
// passed (out of the roster, its resource gone).
func TestWHIPSourceFloodingSSRCsIsClosed(t *testing.T) {
	_, host, m, h, ctx := hostedMeeting(t)
	tok := newToken(t, host, m.ID, "Eve's encoder")
	p, err := whiptest.Publish(ctx, tok.URL, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Pump(ctx, fakeVP8)
	if err := h.WaitFor(ctx, "the source in the roster", func() bool { _, ok := source(h, "Eve's encoder"); return ok }); err != nil {
		t.Fatal(err)
	}
	for p.PC.ConnectionState() != webrtc.PeerConnectionStateConnected {
		select {
		case <-ctx.Done():
			t.Fatal("the source never connected")
		case <-time.After(20 * time.Millisecond):
		}
	}
	gone := func() bool { _, ok := source(h, "Eve's encoder"); return !ok }
	floodReports(p.PC, 60000, gone)
	if err := h.WaitFor(ctx, "the flooding source out of the roster", gone); err != nil {
		t.Fatal(err)
	}
	if code, err := p.Delete(ctx); err != nil || code != http.StatusNotFound {
		t.Fatalf("DELETE of the flooding source's session: %d %v, want 404 (ended)", code, err)
	}
}
