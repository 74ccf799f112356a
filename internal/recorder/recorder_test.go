package recorder

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// memStore is the recordings store in memory, as internal/store keeps it
// (chunks by index, finished once with a manifest).
type memStore struct {
	mu      sync.Mutex
	recs    map[string]*store.Recording
	chunks  map[string]map[int][]byte
	deleted []string
}

func newMemStore() *memStore {
	return &memStore{recs: map[string]*store.Recording{}, chunks: map[string]map[int][]byte{}}
}

func (m *memStore) CreateRecording(_ context.Context, r store.Recording, _ []store.RecordingReader) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[r.ID], m.chunks[r.ID] = &r, map[int][]byte{}
	return nil
}

func (m *memStore) PutRecordingChunk(_ context.Context, id, by string, n int, data []byte, max int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.recs[id]
	if r == nil || r.RecorderID != by {
		return store.ErrNotFound
	}
	if r.Bytes+int64(len(data)) > max {
		return store.ErrRecordingFull
	}
	m.chunks[id][n] = data
	r.Bytes += int64(len(data))
	r.Chunks++
	return nil
}

func (m *memStore) FinishRecording(_ context.Context, id, by string, chunks int, manifest []byte, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.recs[id]
	if r == nil || r.RecorderID != by {
		return store.ErrNotFound
	}
	if len(m.chunks[id]) != chunks {
		return store.ErrChunksMissing
	}
	r.FinishedAt, r.Manifest = at, manifest
	return nil
}

func (m *memStore) DeleteRecording(_ context.Context, id, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, id)
	m.deleted = append(m.deleted, id)
	return nil
}

// file is a recording's chunks joined in order.
func (m *memStore) file(id string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b []byte
	for n := 0; n < len(m.chunks[id]); n++ {
		b = append(b, m.chunks[id][n]...)
	}
	return b
}

type nopSig struct{}

func (nopSig) Offer(string, []sfu.TrackInfo)     {}
func (nopSig) Answer(string)                     {}
func (nopSig) Candidate(webrtc.ICECandidateInit) {}
func (nopSig) Renegotiate()                      {}

// frameBytes is test frame n of the publisher tagged tag: a VP8 key
// frame every 30 (its header with a size, 320×240 in even seconds and
// 640×480 in odd ones, so that the size changes at key frames), else an
// inter frame; the frame number and the tag follow the header, then
// filler, 1500 bytes in all (TestMuxerFrames makes key frames of 100 kB
// with bigFrameBytes).
func frameBytes(tag byte, n int) []byte { return sizedFrameBytes(tag, n, 1500) }

// bigFrameBytes is frameBytes with key frames of 100 kB (200 packets, as
// a shared screen's can be).
func bigFrameBytes(tag byte, n int) []byte {
	if n%30 == 0 {
		return sizedFrameBytes(tag, n, 100_000)
	}
	return frameBytes(tag, n)
}

func sizedFrameBytes(tag byte, n, size int) []byte {
	f := make([]byte, size)
	if n%30 == 0 {
		w, h := 320, 240
		if (n/30)%2 == 1 {
			w, h = 640, 480
		}
		f[0], f[1], f[2] = 0x10, 0x02, 0x00 // key frame, shown
		f[3], f[4], f[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(f[6:], uint16(w))
		binary.LittleEndian.PutUint16(f[8:], uint16(h))
	} else {
		f[0] = 0x11 // inter frame, shown
	}
	binary.BigEndian.PutUint32(f[10:], uint32(n))
	f[14] = tag
	for i := 15; i < len(f); i++ {
		f[i] = byte(n + i)
	}
	return f
}

// frameOf is the tag and number of a frame made by frameBytes.
func frameOf(b []byte) (byte, int) { return b[14], int(binary.BigEndian.Uint32(b[10:])) }

// lossy says which frames lose their middle packet on the way.
func lossy(n int) bool { return n%90 == 45 }

// source is a test publisher: its name, the tag in its frames, which
// frames lose a packet, and its voice's RFC 6464 level at frame n (0
// loudest, 127 silence).
type source struct {
	name  string
	tag   byte
	lossy func(n int) bool
	level func(n int) uint8
}

// publish connects a pion publisher (Opus with the audio level extension,
// and VP8) through the SFU's router and pumps media at 30 frames a second
// until ctx ends, each frame in packets of 500 bytes; it sends each
// frame's number once sent, and closes the channel when ctx ends.
func publish(t *testing.T, ctx context.Context, r *sfu.Router, src source) (<-chan int, *webrtc.PeerConnection) {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir)).NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	audio, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", src.name)
	video, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", src.name)
	var audioSender *webrtc.RTPSender
	for _, tr := range []*webrtc.TrackLocalStaticRTP{audio, video} {
		x, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Fatal(err)
		}
		if tr == audio {
			audioSender = x.Sender()
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		t.Fatal(err)
	}
	<-webrtc.GatheringCompletePromise(pc)
	peer, err := r.AddPublisher(src.name, nopSig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := peer.HandleOffer(pc.LocalDescription().SDP, []sfu.PublishedTrack{{Mid: "0", Source: sfu.SourceMicrophone}, {Mid: "1", Source: sfu.SourceCamera}}); err != nil {
		t.Fatal(err)
	}
	answer, err := peer.GatheredAnswer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	var levelID uint8
	for _, e := range audioSender.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			levelID = uint8(e.ID)
		}
	}
	if levelID == 0 {
		t.Fatal("the audio level extension was not negotiated")
	}
	sent := make(chan int, 1) // the newest frame sent, or none: a reader sees progress, not a backlog
	go func() {
		defer close(sent)
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		var vseq, aseq uint16
		opus := []byte{0xfc, 0xff, 0xfe, src.tag} // the tag: whose voice it is
		for n := 0; ; n++ {
			f := frameBytes(src.tag, n)
			last := len(f)/500 - 1
			for i := 0; i <= last; i++ {
				// The descriptor as Chrome writes it: X, S on the first
				// packet, I, and a 15-bit picture ID (the frame's number).
				desc := []byte{0x80, 0x80, 0x80 | byte(n>>8)&0x7f, byte(n)}
				if i == 0 {
					desc[0] |= 0x10
				}
				payload := append(desc, f[i*500:(i+1)*500]...)
				if !(i == 1 && src.lossy(n)) {
					video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == last, SequenceNumber: vseq, Timestamp: uint32(n * 3000)}, Payload: payload})
				}
				vseq++
			}
			if n%10 == 5 {
				// A padding-only packet (a bandwidth probe) between frames.
				video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 200, SequenceNumber: vseq, Timestamp: uint32(n * 3000)}})
				vseq++
			}
			// 20 ms Opus packets, as many as keep up with the frames.
			for int(aseq)*20 < (n+1)*1000/30 {
				h := rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: uint32(aseq) * 960}
				_ = h.SetExtension(levelID, []byte{src.level(n) & 0x7f})
				audio.WriteRTP(&rtp.Packet{Header: h, Payload: opus})
				aseq++
			}
			select {
			case sent <- n:
			default:
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return sent, pc
}

// awaitTracks waits while the publishers send until the SFU has n tracks,
// and fails, saying how far the publishers' connections got, if their
// context ends first.
func awaitTracks(t *testing.T, r *sfu.Router, sent <-chan int, n int, pcs ...*webrtc.PeerConnection) {
	t.Helper()
	for range sent {
		if len(r.Tracks()) == n {
			return
		}
	}
	var states []string
	for _, pc := range pcs {
		states = append(states, fmt.Sprintf("ICE %s, DTLS/connection %s", pc.ICEConnectionState(), pc.ConnectionState()))
	}
	t.Fatalf("the SFU has %d of the publishers' %d tracks after the test's time; publishers: %s", len(r.Tracks()), n, strings.Join(states, "; "))
}

// after waits until the publisher whose frames sent reports has sent k
// frames more than it had.
func after(sent <-chan int, k int) {
	select {
	case <-sent: // a frame sent before the call
	default:
	}
	first := <-sent
	for n := range sent {
		if n >= first+k {
			return
		}
	}
}

// alice is the test publisher most tests use: speaking, losing a packet
// of some frames.
var alice = source{name: "alice", tag: 'a', lossy: lossy, level: func(int) uint8 { return 20 }}

type block struct {
	track uint64
	key   bool
	ms    int64
	data  []byte
}

// parse reads a WebM file back with ebml-go: its tracks and its blocks
// in file order with their absolute times.
func parse(t *testing.T, b []byte) ([]webm.TrackEntry, []block) {
	t.Helper()
	var f struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment webm.Segment    `ebml:"Segment"`
	}
	if err := ebml.Unmarshal(bytes.NewReader(b), &f); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("parse the WebM (%d bytes): %v", len(b), err)
	}
	if f.Header.DocType != "webm" {
		t.Fatalf("doc type %q", f.Header.DocType)
	}
	var out []block
	for _, c := range f.Segment.Cluster {
		for _, sb := range c.SimpleBlock {
			if len(sb.Data) != 1 {
				t.Fatalf("a block with %d frames", len(sb.Data))
			}
			out = append(out, block{track: sb.TrackNumber, key: sb.Keyframe, ms: int64(c.Timecode) + int64(sb.Timecode), data: sb.Data[0]})
		}
	}
	return f.Segment.Tracks.TrackEntry, out
}

func startSFU(t *testing.T) *sfu.Router {
	t.Helper()
	s, err := sfu.New(sfu.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.NewRouter("m1")
	t.Cleanup(r.Close)
	return r
}

// TestRecordsWebMFromALiveRoom: a pion client publishes VP8 (three
// packets a frame, with picture IDs, a key frame a second, the size changing at key frames, the middle packet of
// some frames lost, padding packets between some frames) and Opus
// through a real SFU; the server recording, stopped after five seconds of
// it, is WebM that ebml-go reads back: a VP8 and an Opus track (with its
// OpusHead), the first video block a key frame, every video block one
// whole frame as it was sent, no frame that lost a packet nor any inter
// frame after it before the next key frame (nor after any other frame
// missing), no frame dropped for padding, times rising on each track and
// spaced as the RTP timestamps were, about the length recorded; the store
// holds it finished, as a server recording with its manifest, Ready was
// told, and the audit log has its start by its account and its end by
// the server.
func TestRecordsWebMFromALiveRoom(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	router := startSFU(t)
	sent, pc := publish(t, ctx, router, alice)
	st := newMemStore()
	ready := make(chan store.Recording, 1)
	var mu sync.Mutex
	var audited []audit.Entry
	svc := New(Options{Store: st, Logger: slog.New(slog.DiscardHandler), ChunkEvery: time.Second, ChunkBytes: 64 << 10,
		Ready: func(r store.Recording) { ready <- r },
		Audit: func(_ context.Context, e audit.Entry) error {
			mu.Lock()
			audited = append(audited, e)
			mu.Unlock()
			return nil
		}})
	// Once the SFU has the publisher's tracks, record.
	awaitTracks(t, router, sent, 2, pc)
	rec, err := svc.Start(ctx, "m1", "u1", router, nil)
	if err != nil {
		t.Fatal(err)
	}
	after(sent, 150)
	rec.Stop()
	reason, stats := rec.Result()
	if reason != EndStopped {
		t.Fatalf("ended %q", reason)
	}
	var got store.Recording
	select {
	case got = <-ready:
	case <-ctx.Done():
		t.Fatal("Ready was never told")
	}
	if got.ID != rec.ID || got.Kind != store.KindServer || got.RecorderID != "u1" || got.MeetingID != "m1" || got.Chunks < 2 || got.Bytes != int64(len(st.file(rec.ID))) {
		t.Fatalf("ready: %+v", got)
	}
	mu.Lock()
	if len(audited) != 2 || audited[0].Action != audit.ServerRecordingStarted || audited[0].ActorID != "u1" || audited[0].SubjectID != "m1" ||
		audited[0].Details["recording"] != rec.ID || audited[1].Action != audit.ServerRecordingEnded || audited[1].ActorKind != audit.ActorSystem ||
		audited[1].Details["ended"] != EndStopped || audited[1].Details["seconds"] == "0" {
		t.Fatalf("audited %+v", audited)
	}
	mu.Unlock()
	var man manifest
	if err := json.Unmarshal(got.Manifest, &man); err != nil || man.Kind != "server" || man.VideoFrames != stats.VideoFrames {
		t.Fatalf("manifest %s: %v", got.Manifest, err)
	}
	tracks, blocks := parse(t, st.file(rec.ID))
	if len(tracks) != 2 || tracks[0].CodecID != "V_VP8" || tracks[1].CodecID != "A_OPUS" || !bytes.HasPrefix(tracks[1].CodecPrivate, []byte("OpusHead")) {
		t.Fatalf("tracks %+v", tracks)
	}
	var video, audio []block
	for _, b := range blocks {
		switch b.track {
		case videoTrack:
			video = append(video, b)
		case audioTrack:
			audio = append(audio, b)
		default:
			t.Fatalf("a block of track %d", b.track)
		}
	}
	// Five seconds: about 150 frames, of which the designed losses take up
	// to 30 and the first key frame's wait up to 30; a machine loaded by
	// other tests loses more (a lost key frame packet costs a second).
	// TestMuxerFrames counts frames exactly, without a network.
	if len(video) < 30 || len(audio) < 100 {
		t.Fatalf("%d video and %d audio blocks in five seconds (%d frames dropped, %d packets not queued)", len(video), len(audio), stats.DroppedFrames, rec.dropped.Load())
	}
	if !video[0].key {
		t.Fatal("the first video block is not a key frame")
	}
	if tracks[0].Video.PixelWidth != 320 && tracks[0].Video.PixelWidth != 640 {
		t.Fatalf("header's size %+v, not the first key frame's", tracks[0].Video)
	}
	seen := map[int]bool{}
	prev := -1
	for i, b := range video {
		tag, n := frameOf(b.data)
		if tag != 'a' || !bytes.Equal(b.data, frameBytes(tag, n)) {
			t.Fatalf("video block %d is not frame %d as sent", i, n)
		}
		if b.key != (n%30 == 0) {
			t.Fatalf("frame %d marked key %v", n, b.key)
		}
		if lossy(n) {
			t.Fatalf("frame %d lost a packet and was written", n)
		}
		if n%90 > 45 && n%90 < 60 {
			t.Fatalf("frame %d refers to a lost frame and was written", n)
		}
		if prev >= 0 {
			if n <= prev {
				t.Fatalf("frame %d after %d", n, prev)
			}
			if n != prev+1 && !b.key {
				t.Fatalf("inter frame %d follows %d: after a frame missing, only a key frame may come", n, prev)
			}
			// RTP: 3000 ticks of 90 kHz a frame, 33.3 ms.
			want := int64(n-prev) * 1000 / 30
			if d := b.ms - video[i-1].ms; d < want-2 || d > want+2 {
				t.Fatalf("frames %d and %d are %d ms apart, want %d", prev, n, d, want)
			}
		}
		seen[n], prev = true, n
	}
	_, firstN := frameOf(video[0].data)
	_, lastN := frameOf(video[len(video)-1].data)
	missing := 0
	for n := firstN; n <= lastN; n++ {
		if !seen[n] && !lossy(n) && !(n%90 > 45 && n%90 < 60) {
			missing++
		}
	}
	// On loopback the SFU loses next to nothing, but a loaded machine may
	// lose a packet, and with it the frames up to the next key frame: the
	// count is only logged.
	if stats.DroppedFrames == 0 {
		t.Errorf("stats %+v: no dropped frame counted", stats)
	}
	// About 5 s recorded: the audio from its start, the video from its
	// first key frame (up to a second later) to its last whole frame (up
	// to half a second early after a loss; more on a loaded machine).
	span := time.Duration(video[len(video)-1].ms-video[0].ms) * time.Millisecond
	aspan := time.Duration(audio[len(audio)-1].ms-audio[0].ms) * time.Millisecond
	if aspan < 4500*time.Millisecond || aspan > 6*time.Second || span < 2500*time.Millisecond || span > aspan {
		t.Errorf("the audio spans %v and the video %v, recorded about 5 s", aspan, span)
	}
	if !sort.SliceIsSorted(audio, func(i, j int) bool { return audio[i].ms < audio[j].ms }) {
		t.Error("audio times go back")
	}
	for i := 1; i < len(audio); i++ {
		if audio[i].ms <= audio[i-1].ms {
			t.Fatalf("audio blocks %d and %d at %d and %d ms", i-1, i, audio[i-1].ms, audio[i].ms)
		}
	}
	t.Logf("%d video blocks (%d key), %d audio, %d dropped (%d whole frames missing beyond the designed losses), %d resizes, %v, %d bytes in %d chunks",
		len(video), stats.KeyFrames, len(audio), stats.DroppedFrames, missing, stats.Resizes, span, got.Bytes, got.Chunks)
}

// TestRecordingLimits: a recording ends by itself at its duration limit
// and at its size limit, whatever its starter does, tells ended why, and
// keeps what it stored; Close (the server stops) stops and stores one
// under way and refuses new ones; one that got nothing is deleted, not
// listed.
func TestRecordingLimits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	router := startSFU(t)
	sent, pc := publish(t, ctx, router, alice)
	awaitTracks(t, router, sent, 2, pc)
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"duration", Options{MaxDuration: 2 * time.Second}, EndDuration},
		{"size", Options{MaxBytes: 100 << 10, ChunkBytes: 16 << 10}, EndSize},
	} {
		st := newMemStore()
		c.opts.Store, c.opts.Logger = st, slog.New(slog.DiscardHandler)
		ended := make(chan string, 1)
		rec, err := New(c.opts).Start(ctx, "m1", "u1", router, func(why string) { ended <- why })
		if err != nil {
			t.Fatal(err)
		}
		select {
		case why := <-ended:
			if why != c.want {
				t.Fatalf("%s: ended %q", c.name, why)
			}
		case <-ctx.Done():
			t.Fatalf("%s: the recording never ended by itself", c.name)
		}
		<-rec.Done()
		st.mu.Lock()
		r := st.recs[rec.ID]
		st.mu.Unlock()
		if r == nil || r.FinishedAt.IsZero() || r.Chunks == 0 {
			t.Fatalf("%s: stored %+v", c.name, r)
		}
		if c.want == EndSize && r.Bytes > 100<<10 {
			t.Fatalf("size limit of 100 KiB, stored %d bytes", r.Bytes)
		}
		if _, blocks := parse(t, st.file(rec.ID)); len(blocks) == 0 {
			t.Fatalf("%s: nothing readable stored", c.name)
		}
	}
	// The server stops: Close stops a recording under way and waits until
	// it is stored; none starts after.
	st := newMemStore()
	svc := New(Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	rec, err := svc.Start(ctx, "m1", "u1", router, nil)
	if err != nil {
		t.Fatal(err)
	}
	after(sent, 30)
	svc.Close()
	select {
	case <-rec.Done():
	default:
		t.Fatal("Close returned before the recording was stored")
	}
	st.mu.Lock()
	if r := st.recs[rec.ID]; r == nil || r.FinishedAt.IsZero() {
		t.Fatalf("after Close: %+v", r)
	}
	st.mu.Unlock()
	if _, err := svc.Start(ctx, "m1", "u1", router, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("a start after Close: %v", err)
	}

	// A room where nothing is published: the recording is deleted.
	empty := startSFU(t)
	st = newMemStore()
	rec, err = New(Options{Store: st, Logger: slog.New(slog.DiscardHandler)}).Start(ctx, "m2", "u1", empty, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec.Stop()
	if len(st.deleted) != 1 || st.deleted[0] != rec.ID || len(st.recs) != 0 {
		t.Fatalf("an empty recording: deleted %v, kept %d", st.deleted, len(st.recs))
	}
}

// TestRecordsTheSpeaker: two publishers through a real SFU, Alice
// speaking and then Bob (their RFC 6464 levels); the recording follows
// the speaker: its video is Alice's camera and then Bob's, each stretch
// starting at a key frame of its camera (whose size may differ), every
// frame whole and as its publisher sent it with none missing within a
// stretch (but up to a key frame after one lost on a loaded machine),
// the times rising across the switch without a jump; the audio
// is Alice's voice and then Bob's, its times rising throughout.
func TestRecordsTheSpeaker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	router := startSFU(t)
	var bobSpeaks atomic.Bool
	never := func(int) bool { return false }
	speaks := func(who bool) func(int) uint8 {
		return func(int) uint8 {
			if bobSpeaks.Load() == who {
				return 10
			}
			return 127
		}
	}
	sentA, pcA := publish(t, ctx, router, source{name: "alice", tag: 'a', lossy: never, level: speaks(false)})
	sentB, pcB := publish(t, ctx, router, source{name: "bob", tag: 'b', lossy: never, level: speaks(true)})
	awaitTracks(t, router, sentA, 4, pcA, pcB)
	st := newMemStore()
	rec, err := New(Options{Store: st, Logger: slog.New(slog.DiscardHandler)}).Start(ctx, "m1", "u1", router, nil)
	if err != nil {
		t.Fatal(err)
	}
	after(sentA, 120)
	bobSpeaks.Store(true)
	after(sentB, 90)
	rec.Stop()
	_, stats := rec.Result()
	_, blocks := parse(t, st.file(rec.ID))
	type run struct {
		tag    byte
		blocks []block
	}
	var runs []run
	var audio []block
	for _, b := range blocks {
		if b.track == audioTrack {
			audio = append(audio, b)
			continue
		}
		tag, _ := frameOf(b.data)
		if len(runs) == 0 || runs[len(runs)-1].tag != tag {
			runs = append(runs, run{tag: tag})
		}
		runs[len(runs)-1].blocks = append(runs[len(runs)-1].blocks, b)
	}
	// At the very start every voice is as quiet as another: the recording
	// may begin on Bob for a moment. It ends with Alice, then Bob.
	if len(runs) < 2 || runs[len(runs)-1].tag != 'b' || runs[len(runs)-2].tag != 'a' || len(runs[len(runs)-2].blocks) < 10 || len(runs[len(runs)-1].blocks) < 10 {
		desc := ""
		for _, r := range runs {
			desc += fmt.Sprintf(" %c×%d", r.tag, len(r.blocks))
		}
		t.Fatalf("the video's stretches:%s; want Alice's, then Bob's", desc)
	}
	for i, r := range runs {
		if !r.blocks[0].key {
			t.Fatalf("stretch %d (%c) starts on an inter frame", i, r.tag)
		}
		prev := -1
		for _, b := range r.blocks {
			tag, n := frameOf(b.data)
			if !bytes.Equal(b.data, frameBytes(tag, n)) {
				t.Fatalf("a block is not %c's frame %d as sent", tag, n)
			}
			// A frame missing (lost on a loaded machine) may only be
			// followed by a key frame.
			if prev >= 0 && n != prev+1 && !b.key {
				t.Fatalf("%c's inter frame %d follows %d", tag, n, prev)
			}
			prev = n
		}
	}
	var widest int64
	widestKey := false
	for i := 1; i < len(blocks); i++ {
		if blocks[i].track != videoTrack {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if blocks[j].track == videoTrack {
				// A hole ends at a key frame: one frame lost on a
				// loaded machine costs up to a key-frame interval (1 s
				// here), and a loss just before the switch another
				// interval of the new speaker's; elsewhere frames are
				// 33 ms apart.
				limit := int64(1500)
				if blocks[i].key {
					limit = 2500
				}
				d := blocks[i].ms - blocks[j].ms
				if d <= 0 || d > limit {
					t.Fatalf("video blocks %d and %d are %d ms apart (key frame: %v)", j, i, d, blocks[i].key)
				}
				if d > widest {
					widest, widestKey = d, blocks[i].key
				}
				break
			}
		}
	}
	t.Logf("the widest hole in the video: %d ms (ending on a key frame: %v)", widest, widestKey)
	voices := ""
	for i, b := range audio {
		if i > 0 && b.ms <= audio[i-1].ms {
			t.Fatalf("audio blocks at %d then %d ms", audio[i-1].ms, b.ms)
		}
		if tag := string(b.data[len(b.data)-1:]); !strings.HasSuffix(voices, tag) {
			voices += tag
		}
	}
	if !strings.HasSuffix(voices, "ab") {
		t.Fatalf("the voices recorded, in turn: %q; want Alice's, then Bob's", voices)
	}
	a, b := runs[len(runs)-2].blocks, runs[len(runs)-1].blocks
	t.Logf("%d stretches; Alice's %d frames to %d ms, Bob's %d from %d ms; %d audio blocks; %d resizes, %d dropped, %d packets not queued",
		len(runs), len(a), a[len(a)-1].ms, len(b), b[0].ms, len(audio), stats.Resizes, stats.DroppedFrames, rec.dropped.Load())
}
