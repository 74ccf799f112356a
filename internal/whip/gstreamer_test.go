package whip_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// gstWHIP checks that GStreamer, its WebRTC elements and their Python
// bindings are installed, which testdata/gst_whip.py (a WHIP client
// made of webrtcbin) needs, and returns python3's path. Under CI
// (CI=true; scripts/test.sh installs them) their absence fails the test;
// elsewhere it skips.
func gstWHIP(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("GStreamer is not installed (%s); scripts/test.sh installs it", what)
		}
		t.Skipf("GStreamer is not installed (%s)", what)
	}
	// Debian's python3, for which python3-gst-1.0 is, before any other
	// on the PATH.
	python, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		if python, err = exec.LookPath("python3"); err != nil {
			missing("no python3")
		}
	}
	for _, el := range []string{"webrtcbin", "nicesrc", "vp8enc", "rtpvp8pay", "opusenc", "rtpopuspay", "videotestsrc", "audiotestsrc"} {
		// Not --exists: it compares the plugin's version with
		// GStreamer's, and libnice's is 0.1.
		if err := exec.Command("gst-inspect-1.0", el).Run(); err != nil {
			missing("no element " + el)
		}
	}
	imports := `import gi; gi.require_version("Gst", "1.0"); gi.require_version("GstWebRTC", "1.0"); gi.require_version("GstSdp", "1.0")`
	if err := exec.Command(python, "-c", imports).Run(); err != nil {
		missing("no Python bindings for GstWebRTC")
	}
	return python
}

// The pipelines docs/operations.md gives users: a test picture in VP8
// and a tick in Opus.
const (
	gstVideo = "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 ! videoconvert ! queue ! " +
		"vp8enc deadline=1 keyframe-max-dist=60 ! rtpvp8pay pt=96 ! queue ! application/x-rtp,media=video,encoding-name=VP8,payload=96"
	gstAudio = "audiotestsrc is-live=true wave=ticks ! audioconvert ! audioresample ! queue ! " +
		"opusenc ! rtpopuspay pt=111 ! queue ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111"
)

// vp8Frames reassembles the VP8 frames of a track's packets: a frame is
// the packets of one timestamp from the one that starts partition 0 to
// the one with the marker, with no sequence number missing between. It
// counts the complete frames from the first complete key frame on, and
// notes that key frame's size.
type vp8Frames struct {
	mu            sync.Mutex
	started       bool   // a key frame was completed
	frames, keys  int    // complete frames (keys among them) since
	width, height int    // of the first key frame
	open          bool   // a frame's first packet was seen
	key           bool   // the open frame is a key frame
	ts            uint32 // the open frame's timestamp
	next          uint16 // the sequence number the open frame needs next
	w, h          int
}

func (f *vp8Frames) packet(raw []byte) {
	var p rtp.Packet
	if p.Unmarshal(raw) != nil {
		return
	}
	var d codecs.VP8Packet
	payload, err := d.Unmarshal(p.Payload)
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.S == 1 && d.PID == 0 {
		f.open, f.ts, f.key = true, p.Timestamp, false
		// The frame tag: bit 0 clear for a key frame, whose header
		// follows: start code 9d 01 2a, then 14-bit width and height.
		if len(payload) >= 10 && payload[0]&0x01 == 0 && bytes.Equal(payload[3:6], []byte{0x9d, 0x01, 0x2a}) {
			f.key = true
			f.w = int(payload[6]) | int(payload[7]&0x3f)<<8
			f.h = int(payload[8]) | int(payload[9]&0x3f)<<8
		}
	} else if !f.open || p.Timestamp != f.ts || p.SequenceNumber != f.next {
		f.open = false // a packet lost or out of order: wait for the next frame
		return
	}
	f.next = p.SequenceNumber + 1
	if !p.Marker {
		return
	}
	f.open = false
	if f.key && !f.started {
		f.started, f.width, f.height = true, f.w, f.h
	}
	if f.started {
		f.frames++
		if f.key {
			f.keys++
		}
	}
}

func (f *vp8Frames) counts() (frames, keys, width, height int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frames, f.keys, f.width, f.height
}

// opusPackets counts a track's Opus packets and those whose TOC byte
// (RFC 6716 section 3.1) says one 20 ms frame, opusenc's default.
type opusPackets struct {
	mu          sync.Mutex
	all, twenty int
}

func (o *opusPackets) packet(raw []byte) {
	var p rtp.Packet
	if p.Unmarshal(raw) != nil || len(p.Payload) < 2 {
		return
	}
	toc := p.Payload[0]
	config, frames := toc>>3, toc&0x03
	var ms20 bool
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		ms20 = config%4 == 1
	case config < 16: // hybrid: 10, 20 ms
		ms20 = config%2 == 1
	default: // CELT: 2.5, 5, 10, 20 ms
		ms20 = config%4 == 3
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.all++
	if ms20 && frames == 0 {
		o.twenty++
	}
}

func (o *opusPackets) counts() (all, twenty int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.all, o.twenty
}

// lockedBuffer is a bytes.Buffer for a subprocess's output.
type lockedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // gets a value at each write, if made
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		select {
		case b.changed <- struct{}{}:
		default:
		}
	}
	return b.buf.Write(p)
}

// waitFor waits, write by write, until the output has a line starting
// with prefix, and returns that line.
func (b *lockedBuffer) waitFor(ctx context.Context, prefix string) (string, error) {
	for {
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(line, prefix) {
				return line, nil
			}
		}
		select {
		case <-b.changed:
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for %q: %w", prefix, ctx.Err())
		}
	}
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestGStreamerPublishesIntoAMeeting: GStreamer's webrtcbin, as a WHIP
// client (testdata/gst_whip.py, with the pipelines docs/operations.md
// gives, candidates in the offer), publishes a test picture in VP8 and a
// tick in Opus into a meeting with the host's ingest token. A
// participant sees it in the roster as the ingest source and receives
// its video as whole VP8 frames from a 640x360 key frame on, and its
// audio as Opus packets of 20 ms frames; GStreamer watching the meeting
// by WHEP decodes them (watchWithGStreamer). Interrupted, the client
// DELETEs the session (200) and the source leaves the roster within
// 10 s, sooner than a lost transport would take it out.
func TestGStreamerPublishesIntoAMeeting(t *testing.T) {
	python := gstWHIP(t)
	srv := servertest.Start(t, servertest.Options{})
	host := srv.Admin(t)
	m := host.NewMeeting(t, servertest.OpenSettings())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var video vp8Frames
	var audio opusPackets
	watcher, err := client.Join(ctx, client.Options{BaseURL: srv.URL, Meeting: m.ID, Name: "Watcher", Observe: func(rt *client.RemoteTrack) func([]byte) {
		switch rt.Source {
		case "camera":
			return video.packet
		case "microphone":
			return audio.packet
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	tok := newToken(t, host, m.ID, "GStreamer")

	var out lockedBuffer
	gst := exec.CommandContext(ctx, python, "testdata/gst_whip.py", tok.URL, tok.Token, gstVideo, gstAudio)
	gst.Stdout, gst.Stderr = &out, &out
	gst.WaitDelay = 5 * time.Second
	if err := gst.Start(); err != nil {
		t.Fatal(err)
	}
	// live ends when the client exits: a client that fails does not
	// leave the waits below to run out.
	live, dead := context.WithCancel(ctx)
	defer dead()
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = gst.Wait(); dead(); close(exited) }()
	defer func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("the WHIP client's output:\n%s", strings.ReplaceAll(out.String(), tok.Token, "TOKEN"))
		}
	}()

	var src client.Participant
	if err := watcher.WaitFor(live, "the GStreamer source in the roster", func() bool { p, ok := source(watcher, "GStreamer"); src = p; return ok }); err != nil {
		t.Fatal(err)
	}
	if src.SignedIn || src.Account != "" || src.Role != "participant" {
		t.Fatalf("the source is shown as %+v", src)
	}
	if err := watcher.WaitFor(live, "30 whole VP8 frames from a key frame", func() bool { n, _, _, _ := video.counts(); return n >= 30 }); err != nil {
		n, k, _, _ := video.counts()
		t.Fatalf("%v (%d frames, %d key frames)", err, n, k)
	}
	if _, _, w, h := video.counts(); w != 640 || h != 360 {
		t.Fatalf("the key frame is %dx%d, not 640x360", w, h)
	}
	if err := watcher.WaitFor(live, "50 Opus packets", func() bool { n, _ := audio.counts(); return n >= 50 }); err != nil {
		t.Fatal(err)
	}
	if all, twenty := audio.counts(); twenty != all {
		t.Fatalf("%d of %d Opus packets are not one 20 ms frame", all-twenty, all)
	}
	for _, s := range []string{"camera", "microphone"} {
		if rt := watcher.Track(src.ID, s); rt == nil {
			t.Fatalf("no %s track from the source", s)
		}
	}

	// Interrupted, the client DELETEs the session, which takes the
	// source out of the roster (not the transport timing out: the wait
	// is shorter).
	watchWithGStreamer(ctx, t, host, watcher, python, m.ID)

	frames, keys, _, _ := video.counts()
	all, _ := audio.counts()
	t.Logf("%d whole VP8 frames (%d key frames), %d Opus packets", frames, keys, all)
	interrupted := time.Now()
	if err := gst.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	leave, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := watcher.WaitFor(leave, "the source to leave", func() bool { _, ok := source(watcher, "GStreamer"); return !ok }); err != nil {
		t.Fatal(err)
	}
	t.Logf("the source left the roster %v after the interrupt", time.Since(interrupted).Round(time.Millisecond))
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("the WHIP client: %v", exitErr)
		}
	case <-ctx.Done():
		t.Fatal("the WHIP client did not exit")
	}
	if !strings.Contains(out.String(), "DELETE: 200") {
		t.Fatal("the client's DELETE was not answered 200")
	}
	if strings.Contains(srv.Logs(), tok.Token) {
		t.Fatal("the server logged the ingest token")
	}
}

// watchWithGStreamer: GStreamer's webrtcbin, as a WHEP client
// (testdata/gst_whep.py), watches the meeting with the host's egress
// token: it is in the roster as a viewer, and decodes 30 video frames of
// 640x360 (vp8dec) and 50 of audio (opusdec), the GStreamer source's.
// Interrupted, it DELETEs its session (200) and leaves the roster.
func watchWithGStreamer(ctx context.Context, t *testing.T, host *servertest.Account, watcher *client.Client, python, meetingID string) {
	t.Helper()
	tok := newEgressToken(t, host, meetingID, "GStreamer viewer")
	out := lockedBuffer{changed: make(chan struct{}, 1)}
	whep := exec.CommandContext(ctx, python, "testdata/gst_whep.py", tok.URL, tok.Token)
	whep.Stdout, whep.Stderr = &out, &out
	whep.WaitDelay = 5 * time.Second
	if err := whep.Start(); err != nil {
		t.Fatal(err)
	}
	live, dead := context.WithCancel(ctx)
	defer dead()
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = whep.Wait(); dead(); close(exited) }()
	defer func() {
		whep.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("the WHEP client's output:\n%s", strings.ReplaceAll(out.String(), tok.Token, "TOKEN"))
		}
	}()
	if err := watcher.WaitFor(live, "the GStreamer viewer in the roster", func() bool { _, ok := viewerIn(watcher, "GStreamer viewer"); return ok }); err != nil {
		t.Fatal(err)
	}
	line, err := out.waitFor(live, "video: ")
	if err != nil {
		t.Fatal(err)
	}
	if line != "video: 30 frames 640x360" {
		t.Fatalf("the viewer decoded %q", line)
	}
	if _, err := out.waitFor(live, "audio: 50 frames"); err != nil {
		t.Fatal(err)
	}
	if err := whep.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	leave, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := watcher.WaitFor(leave, "the viewer to leave", func() bool { _, ok := viewerIn(watcher, "GStreamer viewer"); return !ok }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("the WHEP client: %v", exitErr)
		}
	case <-ctx.Done():
		t.Fatal("the WHEP client did not exit")
	}
	if !strings.Contains(out.String(), "DELETE: 200") {
		t.Fatal("the WHEP client's DELETE was not answered 200")
	}
}
