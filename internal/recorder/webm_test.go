package recorder

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// closer is a bytes.Buffer the muxer can close.
type closer struct{ bytes.Buffer }

func (*closer) Close() error { return nil }

// TestMuxerFrames feeds the muxer RTP directly, as the SFU hands it over
// (no network, so nothing is lost but what the test leaves out): 90
// frames in packets of 500 bytes with picture IDs (key frames of 200
// packets, more than a sample builder of 128 could ever complete), a padding-only packet after every
// tenth (as Chrome's bandwidth probes), Opus alongside. With nothing left
// out, every frame is written, whole, in order, and none is dropped for
// the padding; with the middle packet of frame 45 left out, frames 45 to
// 59 are not written (46 to 59 refer to it) and every other one is; a key
// frame is asked for.
func TestMuxerFrames(t *testing.T) {
	for _, lose := range []int{-1, 45} {
		var out closer
		keys := 0
		start := time.Now()
		m := newMuxer(&out, start, func() { keys++ })
		var vseq, aseq uint16
		for n := 0; n < 90; n++ {
			at := start.Add(time.Duration(n) * time.Second / 30)
			f := bigFrameBytes('a', n)
			last := len(f)/500 - 1
			for i := 0; i <= last; i++ {
				desc := []byte{0x80, 0x80, 0x80 | byte(n>>8)&0x7f, byte(n)}
				if i == 0 {
					desc[0] |= 0x10
				}
				if !(n == lose && i == 1) {
					m.push(true, &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == last, SequenceNumber: vseq, Timestamp: uint32(n * 3000)},
						Payload: append(desc, f[i*500:(i+1)*500]...)}, at)
				}
				vseq++
			}
			if n%10 == 5 {
				m.push(true, &rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PaddingSize: 200, SequenceNumber: vseq, Timestamp: uint32(n * 3000)}}, at)
				vseq++
			}
			for int(aseq)*20 < (n+1)*1000/30 {
				m.push(false, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: uint32(aseq) * 960}, Payload: []byte{0xfc, 0xff, 0xfe}}, at)
				aseq++
			}
		}
		stats, err := m.close()
		if err != nil {
			t.Fatal(err)
		}
		_, blocks := parse(t, out.Bytes())
		var got []int
		for _, b := range blocks {
			if b.track != videoTrack {
				continue
			}
			tag, n := frameOf(b.data)
			if tag != 'a' || !bytes.Equal(b.data, bigFrameBytes(tag, n)) || b.key != (n%30 == 0) {
				t.Fatalf("lose %d: block of frame %d is not the frame sent", lose, n)
			}
			got = append(got, n)
		}
		var want []int
		for n := 0; n < 90; n++ {
			if lose < 0 || n < lose || n >= 60 {
				want = append(want, n)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("lose %d: frames written %v, want %v", lose, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("lose %d: frames written %v, want %v", lose, got, want)
			}
		}
		if lose < 0 && (stats.DroppedFrames != 0 || keys != 0) {
			t.Fatalf("nothing lost: %d frames dropped, %d key frames asked for", stats.DroppedFrames, keys)
		}
		if lose >= 0 && (stats.DroppedFrames != 15 || keys == 0) {
			t.Fatalf("frame %d lost a packet: %d frames dropped (want 15), %d key frames asked for", lose, stats.DroppedFrames, keys)
		}
		if stats.Width != 320 || stats.Height != 240 || stats.Resizes != 2 {
			t.Fatalf("stats %+v: the first key frame's size, two changes", stats)
		}
	}
}
