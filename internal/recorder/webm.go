package recorder

import (
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// The WebM muxer: RTP in (one continuous VP8 stream and one continuous
// Opus stream, as a local sfu.Viewer hands them), WebM SimpleBlocks out
// (ebml-go). Video is depacketised by pion's sample builder, which hands
// over only whole frames (a frame with a packet missing is dropped and
// counted); after a drop nothing is written until the next key frame, for
// which the muxer asks, so that no frame referring to a lost one reaches
// the file. Each Opus packet is one frame.
//
// Times come from the RTP timestamps, anchored at the first packet of
// each kind to the time it arrived, and anchored again whenever the two
// drift apart by more than reanchorAfter (a publisher that restarted its
// clock); a frame never goes back in time on its track.

// WebM track numbers.
const (
	videoTrack = 1
	audioTrack = 2
)

// Muxer limits.
const (
	// maxLate is how many packets the sample builder holds: a frame of
	// more packets could never be completed (a shared screen's key frame
	// can be hundreds), so it is well above any frame's; maxDelay bounds
	// the wait for a missing packet.
	maxLate = 1000
	// maxJump: a video sequence number further than this from the
	// newest is a discontinuity (push); packets are neither lost nor
	// reordered by so many in a stream the SFU forwards.
	maxJump = 64
	// maxDelay bounds, in media time, how long a frame with a packet
	// missing holds up the frames after it.
	maxDelay = 500 * time.Millisecond
	// headerWait is how long the muxer waits for a first video key frame
	// (whose size goes into the header) before it writes the header with
	// defaultWidth×defaultHeight; the audio until then is kept.
	headerWait = 3 * time.Second
	// maxPending bounds the audio frames kept until the header.
	maxPending = 400
	// reanchorAfter: RTP time and arrival time further apart than this
	// anchor the RTP clock again.
	reanchorAfter = 2 * time.Second
	defaultWidth  = 1280
	defaultHeight = 720
)

// opusHead is the Opus identification header (RFC 7845, 5.1) WebM
// players need as the audio track's CodecPrivate: version 1, 2 channels,
// a pre-skip of 312 samples, 48 kHz, no gain, mapping family 0.
var opusHead = []byte{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0}

// Stats count what the muxer wrote and dropped.
type Stats struct {
	VideoFrames, KeyFrames, AudioFrames int
	// DroppedFrames are video frames not written: incomplete, or after an
	// incomplete one until a key frame.
	DroppedFrames int
	// Resizes counts key frames of another size than the one before (a
	// speaker switch, a camera or screen changing resolution).
	Resizes int
	// Duration is the last frame's time.
	Duration time.Duration
	// Width and Height are the header's video size.
	Width, Height int
}

// clock maps one track's RTP timestamps to milliseconds of the recording.
type clock struct {
	rate     int64 // per millisecond
	set      bool
	last     uint32
	ext      int64 // extended timestamp of last
	anchorTS int64
	anchorMs int64
	lastMs   int64
}

// ok is false for a frame that would be placed further than reanchorAfter
// ahead of its arrival: frames sent faster than one a millisecond with
// timestamps that do not advance (a flood) are each put a millisecond
// after the last, and would otherwise run the track's times ahead of the
// clock without bound (and, 32 s ahead, make ebml-go drop the other
// track's frames as too old for their cluster). Such a frame is dropped.
func (c *clock) ms(ts uint32, arrivedMs int64) (_ int64, ok bool) {
	if !c.set {
		c.set, c.last, c.ext = true, ts, int64(ts)
		c.anchorTS, c.anchorMs, c.lastMs = c.ext, arrivedMs, -1
	} else {
		c.ext += int64(int32(ts - c.last))
		c.last = ts
	}
	ms := c.anchorMs + (c.ext-c.anchorTS)/c.rate
	if d := ms - arrivedMs; d > reanchorAfter.Milliseconds() || -d > reanchorAfter.Milliseconds() {
		c.anchorTS, c.anchorMs, ms = c.ext, arrivedMs, arrivedMs
	}
	if ms <= c.lastMs {
		ms = c.lastMs + 1
	}
	if ms > arrivedMs+reanchorAfter.Milliseconds() {
		return 0, false
	}
	c.lastMs = ms
	return ms, true
}

type pendingFrame struct {
	ms   int64
	data []byte
}

// muxer writes one recording's WebM to out. Its methods are called from
// one goroutine.
type muxer struct {
	out        io.WriteCloser
	start      time.Time
	requestKey func()

	vsb          *samplebuilder.SampleBuilder
	vclock       clock
	aclock       clock
	vw, aw       webm.BlockWriteCloser
	pending      []pendingFrame
	needKey      bool
	lastPID      uint16 // the VP8 picture ID of the frame popped last
	pidSet       bool
	lastW, lastH int
	stats        Stats
	err          error
	arrived      int64 // the latest packet's arrival, in ms
	// The newest video packet's sequence number and timestamp (close).
	vSeen   bool
	vTopSeq uint16
	vTopTS  uint32
	vSeqOff uint16 // added to each video packet's sequence number (push)
}

func newMuxer(out io.WriteCloser, start time.Time, requestKey func()) *muxer {
	return &muxer{
		out: out, start: start, requestKey: requestKey,
		vsb:     samplebuilder.New(maxLate, &vp8Depacketizer{}, 90000, samplebuilder.WithMaxTimeDelay(maxDelay), samplebuilder.WithPacketHeadHandler(vp8HeadOf)),
		vclock:  clock{rate: 90},
		aclock:  clock{rate: 48},
		needKey: true,
	}
}

// push takes one packet (owned by the muxer from now on) that arrived at.
func (m *muxer) push(video bool, p *rtp.Packet, at time.Time) {
	if m.err != nil {
		return
	}
	arrived := at.Sub(m.start).Milliseconds()
	m.arrived = max(m.arrived, arrived)
	if !video {
		if len(p.Payload) == 0 {
			return
		}
		if ms, ok := m.aclock.ms(p.Timestamp, arrived); ok {
			m.writeAudio(ms, p.Payload, arrived)
		}
		return
	}
	// A sequence number further than maxJump from the newest is a
	// discontinuity, numbered on from the newest: the sample builder
	// walks every place a packet skips, more slowly the more it holds (a
	// publisher jumping 30,000 a packet cost 0.7 s of CPU a packet, 500 a
	// packet 0.6 ms), and no frame is whole across so many lost packets.
	p.SequenceNumber += m.vSeqOff
	if d := int16(p.SequenceNumber - m.vTopSeq); m.vSeen && (d > maxJump || d < -maxJump) {
		m.vSeqOff += m.vTopSeq + 1 - p.SequenceNumber
		p.SequenceNumber = m.vTopSeq + 1
		m.needKey = true
		m.requestKey()
	}
	if !m.vSeen || int16(p.SequenceNumber-m.vTopSeq) > 0 {
		m.vSeen, m.vTopSeq, m.vTopTS = true, p.SequenceNumber, p.Timestamp
	}
	m.vsb.Push(p)
	m.popVideo(arrived)
}

// popVideo writes the whole frames the sample builder has.
func (m *muxer) popVideo(arrived int64) {
	for s := m.vsb.Pop(); s != nil; s = m.vsb.Pop() {
		// A frame was lost when the picture IDs skip one (the SFU keeps
		// them continuous across switches); the sample builder's count of
		// dropped packets also counts padding (bandwidth probes), so it is
		// only the word of a stream without picture IDs.
		head, _ := s.Metadata.(vp8Head)
		lost := s.PrevDroppedPackets > 0
		if head.hasPID {
			lost = m.pidSet && (head.pid-m.lastPID)&head.mask != 1
			m.lastPID, m.pidSet = head.pid, true
		}
		if lost {
			m.stats.DroppedFrames++
			m.needKey = true
			m.requestKey()
		}
		if len(s.Data) == 0 {
			continue
		}
		key, w, h := vp8KeyFrame(s.Data)
		if m.needKey && !key {
			m.stats.DroppedFrames++
			continue
		}
		ms, ok := m.vclock.ms(s.PacketTimestamp, arrived)
		if !ok {
			// Dropped as a lost frame: the frames after it refer to it.
			m.stats.DroppedFrames++
			m.needKey = true
			m.requestKey()
			continue
		}
		if key {
			m.needKey = false
			if m.lastW != 0 && (w != m.lastW || h != m.lastH) {
				m.stats.Resizes++
			}
			m.lastW, m.lastH = w, h
			if m.vw == nil {
				m.open(w, h)
			}
		}
		if m.vw == nil {
			continue
		}
		m.stats.VideoFrames++
		if key {
			m.stats.KeyFrames++
		}
		m.note(m.vw.Write(key, ms, s.Data))
		m.advance(ms)
	}
}

func (m *muxer) writeAudio(ms int64, payload []byte, arrived int64) {
	if m.vw == nil {
		if len(m.pending) < maxPending {
			m.pending = append(m.pending, pendingFrame{ms, payload})
		}
		if time.Duration(arrived)*time.Millisecond < headerWait {
			return
		}
		m.open(defaultWidth, defaultHeight)
		if m.err != nil {
			return
		}
		m.needKey = true
		return
	}
	m.stats.AudioFrames++
	m.note(m.aw.Write(true, ms, payload))
	m.advance(ms)
}

func (m *muxer) advance(ms int64) {
	if d := time.Duration(ms) * time.Millisecond; d > m.stats.Duration {
		m.stats.Duration = d
	}
}

func (m *muxer) note(_ int, err error) {
	if err != nil && m.err == nil {
		m.err = err
	}
}

// open writes the header, with the video's size, and the audio kept.
func (m *muxer) open(w, h int) {
	ws, err := webm.NewSimpleBlockWriter(m.out, []webm.TrackEntry{
		{
			Name: "Video", TrackNumber: videoTrack, TrackUID: videoTrack, CodecID: "V_VP8", TrackType: 1,
			Video: &webm.Video{PixelWidth: uint64(w), PixelHeight: uint64(h)},
		},
		{
			Name: "Audio", TrackNumber: audioTrack, TrackUID: audioTrack, CodecID: "A_OPUS", TrackType: 2,
			CodecPrivate: opusHead, Audio: &webm.Audio{SamplingFrequency: 48000, Channels: 2},
		},
	}, mkvcore.WithMinMaxClusterDuration(videoTrack, 1000, 10000))
	if err != nil {
		m.err = err
		return
	}
	m.vw, m.aw = ws[0], ws[1]
	m.stats.Width, m.stats.Height = w, h
	pending := m.pending
	m.pending = nil
	for _, f := range pending {
		m.stats.AudioFrames++
		m.note(m.aw.Write(true, f.ms, f.data))
		m.advance(f.ms)
	}
}

// close ends the file (writing the header first if nothing came yet but
// audio) and closes out.
func (m *muxer) close() (Stats, error) {
	if m.err == nil && m.vSeen {
		// The last whole frame goes out once a packet after it is there:
		// one of the next frame's is pushed. Not the sample builder's
		// Flush, which after a packet that is not a frame's start
		// (anyone's to send) runs its buffer's 65,536 places, seconds of
		// CPU at every recording's end.
		m.vsb.Push(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: m.vTopSeq + 1, Timestamp: m.vTopTS + 1}, Payload: []byte{0x10, 0}})
		m.popVideo(max(m.arrived, time.Since(m.start).Milliseconds()))
	}
	if m.vw == nil {
		if len(m.pending) == 0 {
			return m.stats, errors.Join(m.err, m.out.Close(), errEmpty)
		}
		m.open(defaultWidth, defaultHeight)
		if m.vw == nil {
			return m.stats, errors.Join(m.err, m.out.Close())
		}
	}
	m.vw.Close()
	m.aw.Close() // the last one closes out once all is written
	return m.stats, m.err
}

// errEmpty: the recording ended before any media came.
var errEmpty = errors.New("nothing was recorded")

// vp8KeyFrame says whether a whole VP8 frame is a key frame, and its size
// (RFC 6386, 9.1: a clear P bit, the start code, 14-bit width and
// height).
func vp8KeyFrame(b []byte) (key bool, w, h int) {
	if len(b) < 10 || b[0]&1 != 0 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
		return false, 0, 0
	}
	return true, int(binary.LittleEndian.Uint16(b[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(b[8:]) & 0x3fff)
}

// vp8Head is what a frame's first packet says of its picture ID.
type vp8Head struct {
	hasPID bool
	pid    uint16
	mask   uint16 // 0x7f or 0x7fff
}

// vp8Depacketizer is pion's, noting whether the picture ID of the
// descriptor it read last is 15 bits long (M bit), which it does not keep.
type vp8Depacketizer struct {
	codecs.VP8Packet
	long bool
}

// Unmarshal implements rtp.Depacketizer.
func (d *vp8Depacketizer) Unmarshal(b []byte) ([]byte, error) {
	d.long = len(b) > 2 && b[0]&0x80 != 0 && b[1]&0x80 != 0 && b[2]&0x80 != 0
	return d.VP8Packet.Unmarshal(b)
}

// vp8HeadOf is the sample builder's head handler: the picture ID of the
// VP8 payload descriptor it just read, if any.
func vp8HeadOf(d any) any {
	p, ok := d.(*vp8Depacketizer)
	if !ok || p.X == 0 || p.I == 0 {
		return vp8Head{}
	}
	mask := uint16(0x7f)
	if p.long {
		mask = 0x7fff
	}
	return vp8Head{hasPID: true, pid: p.PictureID & mask, mask: mask}
}
