package recorder

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Attacker's review (session 21) of the server recorder's muxer.

// TestFloodKeepsTheTimeline: the active speaker's client sends
// Opus packets far faster than real time, every one with the same RTP
// timestamp (or a video frame a tick apart): each would be placed one
// millisecond after the last, so the audio track's times ran ahead of
// the clock without bound (5,000 packets in one second of arrival put
// the audio at 5 s; a minute of it, a minute ahead), the manifest's
// duration with them, and once the audio was 32 s ahead of the video,
// ebml-go dropped every later video frame as too old for its cluster.
// No frame may be placed further than reanchorAfter from when it
// arrived: the surplus is dropped.
func TestFloodKeepsTheTimeline(t *testing.T) {
	var out closer
	start := time.Now()
	m := newMuxer(&out, start, func() {})
	key := sizedFrameBytes('a', 0, 1500)
	// A key frame, so the header is written and audio goes out at once.
	m.push(true, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: 0, Timestamp: 0},
		Payload: append([]byte{0x10}, key...)}, start)
	m.push(true, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: 1, Timestamp: 3000},
		Payload: append([]byte{0x10}, key...)}, start)
	const flood = 5000
	for i := range flood {
		at := start.Add(time.Duration(i) * time.Second / flood)
		m.push(false, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: 960}, Payload: []byte{0xfc, 0xff, 0xfe}}, at)
	}
	// Video a tick apart, as fast.
	for i := range flood {
		at := start.Add(time.Second + time.Duration(i)*time.Second/flood)
		f := sizedFrameBytes('a', 1+i%29, 200)
		m.push(true, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: uint16(2 + i), Timestamp: 6000 + uint32(i)},
			Payload: append([]byte{0x10}, f...)}, at)
	}
	stats, err := m.close()
	if err != nil {
		t.Fatal(err)
	}
	arrivedLast := int64(2000) // ms, the last packet's arrival
	limit := arrivedLast + reanchorAfter.Milliseconds() + 1000
	_, blocks := parse(t, out.Bytes())
	var lastA, lastV int64 = -1, -1
	for _, b := range blocks {
		if b.track == audioTrack {
			lastA = max(lastA, b.ms)
		} else {
			lastV = max(lastV, b.ms)
		}
	}
	t.Logf("audio to %d ms, video to %d ms, duration %v, %d audio and %d video frames written, %d dropped",
		lastA, lastV, stats.Duration, stats.AudioFrames, stats.VideoFrames, stats.DroppedFrames)
	if lastA > limit || lastV > limit || stats.Duration > time.Duration(limit)*time.Millisecond {
		t.Fatalf("2 s of flood placed frames up to %d ms (audio) and %d ms (video), duration %v: the timeline runs ahead of the clock",
			lastA, lastV, stats.Duration)
	}
}

// FuzzMuxer feeds the muxer arbitrary RTP (video and audio,
// any payload, sequence numbers and timestamps jumping anywhere,
// arrival times going forward): it must never panic, and what it
// writes stays bounded by what it was given.
//
//	go test -run '^$' -fuzz FuzzMuxer -fuzztime=20000x ./internal/recorder/
func FuzzMuxer(f *testing.F) {
	key := sizedFrameBytes('a', 0, 60)
	seed := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, byte(len(key) + 1), 0x10}
	seed = append(seed, key...)
	f.Add(seed)
	f.Add([]byte{0, 0, 1, 0, 0, 3, 192, 0, 10, 3, 0xfc, 0xff, 0xfe})
	f.Add([]byte{3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 50, 2, 0x90, 0xe0})
	f.Fuzz(func(t *testing.T, in []byte) {
		var out closer
		start := time.Unix(1_700_000_000, 0)
		m := newMuxer(&out, start, func() {})
		at := start
		given, packets := 0, 0
		// Each packet: flags (bit 0 video, bit 1 marker), sequence (2),
		// timestamp (4), arrival step in ms (1), length (1), payload.
		for len(in) >= 9 {
			flags := in[0]
			seq := binary.BigEndian.Uint16(in[1:])
			ts := binary.BigEndian.Uint32(in[3:])
			at = at.Add(time.Duration(in[7]) * 10 * time.Millisecond)
			n := min(int(in[8]), len(in)-9)
			payload := append([]byte(nil), in[9:9+n]...)
			in = in[9+n:]
			given += n
			packets++
			m.push(flags&1 != 0, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: flags&2 != 0, SequenceNumber: seq, Timestamp: ts}, Payload: payload}, at)
		}
		_, _ = m.close()
		// The header, the payloads, and per packet a block header and a
		// cluster at most.
		if bound := 8192 + given + 64*packets; out.Len() > bound {
			t.Fatalf("%d bytes written for %d packets of %d bytes", out.Len(), packets, given)
		}
	})
}

// TestCloseIsQuick: a recording's end after a video packet that
// starts no frame (anyone publishing can send one) took the sample
// builder's Flush 1.5 to 3 s of CPU on this machine (its purge steps
// past its end and walks all 65,536 places), per recording, at every
// stop and at the server's shutdown; the last whole frame is still
// written at the end.
func TestCloseIsQuick(t *testing.T) {
	var out closer
	start := time.Now()
	m := newMuxer(&out, start, func() {})
	key := sizedFrameBytes('a', 0, 1500)
	m.push(true, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: 10, Timestamp: 0},
		Payload: append([]byte{0x10}, key...)}, start)
	m.push(true, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: 11, Timestamp: 3000},
		Payload: append([]byte{0x10}, key...)}, start)
	m.push(true, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: 12, Timestamp: 6000},
		Payload: []byte{0x02, 0x90, 0xe0}}, start)
	t0 := time.Now()
	stats, err := m.close()
	took := time.Since(t0)
	t.Logf("close took %v; %d video frames", took, stats.VideoFrames)
	if err != nil {
		t.Fatal(err)
	}
	if took > 500*time.Millisecond {
		t.Fatalf("close took %v", took)
	}
	if stats.VideoFrames != 2 {
		t.Fatalf("%d video frames written, want both key frames", stats.VideoFrames)
	}
}

// TestSequenceJumps: a publisher whose video the recorder gets
// makes its sequence numbers jump (by 65 to 30,000) at every packet (SRTP's
// replay check passes a packet ahead of the last): the sample builder
// walked every skipped place, tens of thousands of steps a packet
// (0.7 s of CPU a packet at 30,000, 0.6 ms at 500, on this machine), so that a few packets a
// second held the recorder's goroutine busy, its queue dropping
// everyone's media, a core of the server burnt per recording. A jump
// costs no more than a few ordinary packets, compared in the same run;
// a frame after it is still written from a key frame.
func TestSequenceJumps(t *testing.T) {
	run := func(step uint16, n int) (time.Duration, Stats) {
		var out closer
		start := time.Now()
		m := newMuxer(&out, start, func() {})
		key := sizedFrameBytes('a', 0, 300)
		var seq uint16
		t0 := time.Now()
		for i := range n {
			m.push(true, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: uint32(i * 3000)},
				Payload: append([]byte{0x10}, key...)}, start.Add(time.Duration(i)*33*time.Millisecond))
			seq += step
		}
		took := time.Since(t0)
		stats, err := m.close()
		if err != nil {
			t.Fatal(err)
		}
		return took, stats
	}
	const n = 40
	normal, _ := run(1, n)
	for _, step := range []uint16{65, 500, 999, 30000} {
		jumps, stats := run(step, n)
		t.Logf("%d packets: %v in sequence, %v jumping %d each; %d frames written", n, normal, jumps, step, stats.VideoFrames)
		if jumps > 50*normal+200*time.Millisecond {
			t.Fatalf("%d packets jumping %d each took %v (in sequence, %v)", n, step, jumps, normal)
		}
		if stats.VideoFrames == 0 {
			t.Fatal("no key frame written after jumps")
		}
	}
}

// TestRecordingsBounded: any signed-in host of a meeting
// without end-to-end encryption could have the server record, in as many
// meetings at once as they hold, each recording a share of a core, a
// few MB and up to 4 GiB of store, without any bound. The server records
// at most MaxRunning meetings at once and MaxPerAccount for one account
// (ErrBusy, nothing created in the store); a recording that ends frees
// its place.
func TestRecordingsBounded(t *testing.T) {
	ctx := context.Background()
	router := startSFU(t)
	st := newMemStore()
	svc := New(Options{Store: st, Logger: slog.New(slog.DiscardHandler), MaxRunning: 2, MaxPerAccount: 1})
	defer svc.Close()
	a, err := svc.Start(ctx, "m1", "u1", router, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, "m2", "u1", router, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("a second recording for u1: %v", err)
	}
	if _, err := svc.Start(ctx, "m3", "u2", router, nil); err != nil {
		t.Fatalf("u2's first recording: %v", err)
	}
	if _, err := svc.Start(ctx, "m4", "u3", router, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("a third recording on a server of two: %v", err)
	}
	st.mu.Lock()
	n := len(st.recs) + len(st.deleted)
	st.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d recordings created in the store, want 2", n)
	}
	a.Stop()
	if _, err := svc.Start(ctx, "m2", "u1", router, nil); err != nil {
		t.Fatalf("u1 after its recording ended: %v", err)
	}
}
