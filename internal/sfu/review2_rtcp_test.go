package sfu

import (
	"bytes"
	"encoding/binary"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// TestReview2LayerOnANewSSRCDoesNotWedgeRTCP: review (Rev2) of 99f0760.
// A published layer's RTCP sink reads the layer's receiver from within its
// Write (RTPReceiver.ReadSimulcast by RID), expecting the read to reach
// the same sink's Read. pion hands a RID's track the streams of any new
// SSRC that arrives with that RID (receiveForRid), so once a publisher
// sends layer h on another SSRC, a sender report for h's first SSRC reads
// the new SSRC's sink, whose Read has nothing pending and waits until the
// sink closes: the PeerConnection's SRTCP read loop stops there, and with
// it every RTCP packet of the participant (its NACKs, PLIs, reports) until
// it leaves. The publisher here sends layer f's first packets with RID h.
func TestReview2LayerOnANewSSRCDoesNotWedgeRTCP(t *testing.T) {
	s, err := New(Config{IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m")
	pub := newPionClient(t, r, "ada")
	tracks := pub.publish([]Source{SourceCamera}, true)
	frame := func(i uint32) []byte {
		p := []byte{0x10, 0, 0, 0, 0, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}
		binary.BigEndian.PutUint32(p[1:], i)
		return p
	}
	var i uint32
	send := func(sts ...*sentTrack) {
		t.Helper()
		i++
		for _, st := range sts {
			if err := st.write(frame(i), 3000); err != nil {
				t.Fatal(err)
			}
		}
	}
	q, h := tracks["camera/q"], tracks["camera/h"]
	waitFor(t, 30*time.Second, "the SFU never had layers q and h", func() bool {
		send(q, h)
		pub.peer.mu.Lock()
		defer pub.peer.mu.Unlock()
		for _, up := range pub.peer.upTracks {
			return up.layers[0].Load() != nil && up.layers[1].Load() != nil
		}
		return false
	})
	// Layer f's SSRC, first seen with RID h.
	other := *tracks["camera/f"]
	other.rid = "h"
	// The publisher's pion sends a sender report for each SSRC about once
	// a second: five seconds of them, sending all the while.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		send(q, h, &other)
		if g := wedgedSink(t); g != "" {
			t.Fatalf("the SRTCP read loop waits in an RTCP sink's Read, inside another sink's Write:\n%s", g)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wedgedSink returns the stack of a goroutine blocked in an rtcpSink's
// Read called from an rtcpSink's Write, or "".
func wedgedSink(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, "[chan receive") && strings.Contains(g, "(*rtcpSink).Read(") && strings.Contains(g, "(*rtcpSink).Write(") {
			return g
		}
	}
	return ""
}
