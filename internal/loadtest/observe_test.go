package loadtest

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func packet(t *testing.T, seq uint16, payload []byte, ext bool, csrc int, pad byte) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, PayloadType: 96, SSRC: 1}, Payload: payload}
	for i := 0; i < csrc; i++ {
		p.CSRC = append(p.CSRC, uint32(i))
	}
	if ext {
		if err := p.SetExtension(3, []byte("mid-1")); err != nil {
			t.Fatal(err)
		}
	}
	if pad > 0 {
		p.Padding, p.PaddingSize = true, pad
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTrackStatsCountsBySequenceNumber: loss is what never arrived in the
// span of sequence numbers seen; duplicates count once; late packets
// (retransmissions) fill their gap; the 16-bit number wraps.
func TestTrackStatsCountsBySequenceNumber(t *testing.T) {
	tests := []struct {
		name             string
		seqs             []uint16
		expected, unique int64
		dups             int64
	}{
		{"in order", []uint16{10, 11, 12, 13}, 4, 4, 0},
		{"a gap", []uint16{10, 11, 14}, 5, 3, 0},
		{"a gap filled late", []uint16{10, 11, 14, 12, 13}, 5, 5, 0},
		{"duplicates", []uint16{10, 11, 11, 12, 10}, 3, 3, 2},
		{"wrap", []uint16{65534, 65535, 0, 1}, 4, 4, 0},
		{"wrap with loss", []uint16{65534, 1}, 4, 2, 0},
		{"reordered across the wrap", []uint16{65535, 1, 0}, 3, 3, 0},
		{"before the first is not counted", []uint16{100, 99, 101}, 2, 2, 0},
		{"too late to tell", append([]uint16{0, 2}, seqRange(3, 3000)...), 3000, 2999, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &trackStats{}
			for _, q := range tt.seqs {
				s.observe(packet(t, q, []byte{1, 2, 3}, false, 0, 0))
			}
			if tt.name == "too late to tell" {
				s.observe(packet(t, 1, []byte{1}, false, 0, 0)) // 2999 behind: beyond the window
			}
			c := s.snapshot()
			if c.expected != tt.expected || c.unique != tt.unique || s.dups != tt.dups {
				t.Errorf("expected %d unique %d dups %d; want %d, %d, %d", c.expected, c.unique, s.dups, tt.expected, tt.unique, tt.dups)
			}
		})
	}
}

func seqRange(from, to uint16) []uint16 {
	var s []uint16
	for q := from; q < to; q++ {
		s = append(s, q)
	}
	return s
}

// TestRTPPayload: the payload is found past CSRCs and a header extension,
// without the padding.
func TestRTPPayload(t *testing.T) {
	want := []byte{0x10, 0x00, 'x', 'y'}
	for _, c := range []struct {
		ext  bool
		csrc int
		pad  byte
	}{{false, 0, 0}, {true, 0, 0}, {false, 2, 0}, {true, 3, 4}} {
		got, seq, ok := rtpPayload(packet(t, 777, want, c.ext, c.csrc, c.pad))
		if !ok || seq != 777 || string(got) != string(want) {
			t.Errorf("%+v: payload %x seq %d ok %v, want %x 777", c, got, seq, ok, want)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 11), append([]byte{0x40}, make([]byte, 11)...), {0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, _, ok := rtpPayload(bad); ok {
			t.Errorf("%x parsed as RTP", bad)
		}
	}
}

// TestVP8Keyframe: RFC 7741 payload descriptors with and without the
// extended fields; only the start of partition 0 with P clear is a key
// frame.
func TestVP8Keyframe(t *testing.T) {
	tests := []struct {
		payload []byte
		key     bool
	}{
		{[]byte{0x10, 0x00}, true},                         // S, partition 0, P clear
		{[]byte{0x10, 0x01}, false},                        // P set: inter frame
		{[]byte{0x00, 0x00}, false},                        // not a partition start
		{[]byte{0x11, 0x00}, false},                        // partition 1
		{[]byte{0x90, 0x80, 0x85, 0x12, 0x00}, true},       // X, I with a 15-bit PictureID
		{[]byte{0x90, 0x80, 0x05, 0x00}, true},             // X, I with a 7-bit PictureID
		{[]byte{0x90, 0xe0, 0x05, 0x01, 0x02, 0x00}, true}, // I, L, T
		{[]byte{0x90, 0xe0, 0x05, 0x01, 0x02, 0x01}, false},
		{[]byte{0x90, 0x80}, false}, // truncated
		{[]byte{0x10}, false},
	}
	for _, tt := range tests {
		if got := isVP8Keyframe(tt.payload); got != tt.key {
			t.Errorf("%x: key frame %v, want %v", tt.payload, got, tt.key)
		}
	}
}

// TestLatencyFromStamp: while recording, the first packet of each frame
// (the one carrying the stamp) gives a latency sample; others do not.
func TestLatencyFromStamp(t *testing.T) {
	s := &trackStats{video: true}
	frame := func(sent time.Time) []byte {
		p := make([]byte, 20)
		p[0], p[1], p[2], p[3] = 0x10, 0x00, 'K', 'G'
		binary.BigEndian.PutUint64(p[4:], uint64(sent.UnixNano()))
		return p
	}
	s.observe(packet(t, 1, frame(time.Now()), false, 0, 0)) // not recording yet
	s.recording(true)
	s.observe(packet(t, 2, frame(time.Now().Add(-40*time.Millisecond)), false, 0, 0))
	s.observe(packet(t, 3, []byte{0x00, 0x00, 0, 0}, false, 0, 0)) // a later packet of the frame
	s.recording(false)
	s.observe(packet(t, 4, frame(time.Now()), false, 0, 0))
	if len(s.latency) != 1 || s.latency[0] < 40*time.Millisecond || s.latency[0] > 5*time.Second {
		t.Fatalf("latencies %v, want one of at least 40 ms", s.latency)
	}
	if !s.ready() || s.firstKey.IsZero() {
		t.Error("a key frame arrived but the track is not ready")
	}
}

func TestSummariseDurations(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	d := summarise(ds)
	if d.N != 100 || d.P50 != 50 || d.P99 != 99 || d.Max != 100 {
		t.Errorf("summarise 1..100 ms = %+v", d)
	}
	if d := summarise(nil); d != (Dist{}) {
		t.Errorf("summarise nothing = %+v", d)
	}
}
