package client

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// stampMagic marks a synthetic payload that carries its send time, so a
// receiver can measure one-way latency (same clock on loopback).
var stampMagic = [2]byte{'K', 'G'}

// LocalTrack is a track we publish; the caller writes its RTP.
type LocalTrack struct {
	Source      string
	track       *webrtc.TrackLocalStaticRTP
	sender      *webrtc.RTPSender
	transceiver *webrtc.RTPTransceiver

	// rid names the encoding of a simulcast layer; layers holds them all
	// (on the track Local returns).
	rid    string
	layers map[string]*LocalTrack

	mu  sync.Mutex
	seq uint16
	ts  uint32
	// midID and ridID are the negotiated header extension IDs a simulcast
	// layer's packets carry, as a browser's do, so the server can tell the
	// layers apart.
	midID, ridID uint8

	// audioLevel, if set (bit 8), is the RFC 6464 byte each packet
	// carries, under levelID once negotiated.
	audioLevel atomic.Uint32
	levelID    uint8

	keyframeRequests atomic.Uint64
	nacks            atomic.Uint64
	sent             atomic.Uint64
	frames           atomic.Uint64
}

// NACKs counts the NACK messages the server sent for this track.
func (t *LocalTrack) NACKs() uint64 { return t.nacks.Load() }

// Sent counts the RTP packets written to this track.
func (t *LocalTrack) Sent() uint64 { return t.sent.Load() }

// Frames counts the frames written to this track in full.
func (t *LocalTrack) Frames() uint64 { return t.frames.Load() }

func newLocalTrack(source string, track *webrtc.TrackLocalStaticRTP, tr *webrtc.RTPTransceiver) *LocalTrack {
	return &LocalTrack{Source: source, track: track, sender: tr.Sender(), transceiver: tr}
}

// Layer returns the simulcast encoding rid ("q", "h" or "f"), or nil if
// the track is not simulcast.
func (t *LocalTrack) Layer(rid string) *LocalTrack { return t.layers[rid] }

// KeyframeRequests counts the PLIs and FIRs the server sent for this track.
func (t *LocalTrack) KeyframeRequests() uint64 { return t.keyframeRequests.Load() }

func (t *LocalTrack) drainRTCP() {
	for {
		var pkts []rtcp.Packet
		var err error
		if t.rid != "" {
			pkts, _, err = t.sender.ReadSimulcastRTCP(t.rid)
		} else {
			pkts, _, err = t.sender.ReadRTCP()
		}
		if err != nil {
			return
		}
		for _, p := range pkts {
			if isKeyframeRequest(p) {
				t.keyframeRequests.Add(1)
			}
			if _, ok := p.(*rtcp.TransportLayerNack); ok {
				t.nacks.Add(1)
			}
		}
	}
}

// WriteFrame sends one frame as packets of at most mtu payload bytes, the
// last with the marker bit, advancing the timestamp by tsStep first.
func (t *LocalTrack) WriteFrame(payload []byte, mtu int, tsStep uint32) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ts += tsStep
	for off := 0; off < len(payload) || off == 0; {
		end := min(off+mtu, len(payload))
		pkt := rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         end == len(payload),
				SequenceNumber: t.seq,
				Timestamp:      t.ts,
			},
			Payload: payload[off:end],
		}
		t.seq++
		if t.rid != "" && !t.setLayerExtensions(&pkt.Header) {
			return nil // not negotiated yet: nothing would be sent
		}
		t.setAudioLevel(&pkt.Header)
		if err := t.track.WriteRTP(&pkt); err != nil {
			return err
		}
		t.sent.Add(1)
		off = end
		if len(payload) == 0 {
			break
		}
	}
	t.frames.Add(1)
	return nil
}

// setLayerExtensions adds the mid and rid header extensions; it reports
// false until they are negotiated. t.mu is held.
func (t *LocalTrack) setLayerExtensions(h *rtp.Header) bool {
	if t.midID == 0 || t.ridID == 0 {
		for _, ext := range t.sender.GetParameters().HeaderExtensions {
			switch ext.URI {
			case sdp.SDESMidURI:
				t.midID = uint8(ext.ID)
			case sdp.SDESRTPStreamIDURI:
				t.ridID = uint8(ext.ID)
			}
		}
		if t.midID == 0 || t.ridID == 0 {
			return false
		}
	}
	_ = h.SetExtension(t.midID, []byte(t.transceiver.Mid()))
	_ = h.SetExtension(t.ridID, []byte(t.rid))
	return true
}

// SetAudioLevel makes the packets written from now on carry the audio
// level header extension (RFC 6464) if it is negotiated, as a browser's
// do: level is the sound's level in -dBov (0 loudest, 127 silence), voice
// whether it is speech.
func (t *LocalTrack) SetAudioLevel(level uint8, voice bool) {
	v := 1<<8 | uint32(level&0x7f)
	if voice {
		v |= 0x80
	}
	t.audioLevel.Store(v)
}

// SendReportsAbout sends the server receiver reports naming ssrcs, 31
// to a packet (as many as one holds), as a hostile client naming made-up
// SSRCs does: pion opens a read stream for each SSRC named (tests of the
// server's bounds on them).
func (r *RemoteTrack) SendReportsAbout(ssrcs []uint32) error {
	for len(ssrcs) > 0 {
		n := min(len(ssrcs), 31)
		rr := &rtcp.ReceiverReport{SSRC: 1}
		for _, ssrc := range ssrcs[:n] {
			rr.Reports = append(rr.Reports, rtcp.ReceptionReport{SSRC: ssrc})
		}
		if err := r.pc.WriteRTCP([]rtcp.Packet{rr}); err != nil {
			return err
		}
		ssrcs = ssrcs[n:]
	}
	return nil
}

// HeaderExtensionID returns the ID negotiated for the header extension
// uri on this track, 0 if none.
func (t *LocalTrack) HeaderExtensionID(uri string) uint8 {
	for _, ext := range t.sender.GetParameters().HeaderExtensions {
		if ext.URI == uri {
			return uint8(ext.ID)
		}
	}
	return 0
}

// setAudioLevel adds the audio level extension if set and negotiated. t.mu
// is held.
func (t *LocalTrack) setAudioLevel(h *rtp.Header) {
	v := t.audioLevel.Load()
	if v == 0 {
		return
	}
	if t.levelID == 0 {
		if t.levelID = t.HeaderExtensionID(sdp.AudioLevelURI); t.levelID == 0 {
			return
		}
	}
	_ = h.SetExtension(t.levelID, []byte{byte(v)})
}

// PumpConfig shapes synthetic media.
type PumpConfig struct {
	// FrameInterval is the time between frames (20 ms audio, 33 ms video).
	FrameInterval time.Duration
	// FrameBytes is the size of a normal frame.
	FrameBytes int
	// KeyframeEvery makes every n-th frame a keyframe of KeyframeBytes
	// (video only; 0 means never).
	KeyframeEvery int
	KeyframeBytes int
	// ClockRate is the RTP clock (48000 audio, 90000 video).
	ClockRate uint32
	// KeyframeOnRequest makes the next frame a keyframe whenever the
	// server has asked for one (PLI or FIR) since the last, as a browser's
	// encoder does.
	KeyframeOnRequest bool
}

// AudioPump is Opus-like audio: 50 packets a second of 80 bytes.
var AudioPump = PumpConfig{FrameInterval: 20 * time.Millisecond, FrameBytes: 80, ClockRate: 48000}

// VideoPump is VP8-like video of about 500 kbit/s at 30 fps, a keyframe
// every 2 s.
var VideoPump = PumpConfig{FrameInterval: time.Second / 30, FrameBytes: 1800, KeyframeEvery: 60, KeyframeBytes: 12000, ClockRate: 90000}

// Pump writes synthetic frames until ctx ends. Payloads start like the
// codec's (a VP8 payload descriptor with the keyframe bit, or an Opus TOC
// byte) followed by a send-time stamp; the SFU never looks further.
func (t *LocalTrack) Pump(ctx context.Context, cfg PumpConfig) error {
	tick := time.NewTicker(cfg.FrameInterval)
	defer tick.Stop()
	video := cfg.ClockRate == 90000
	step := uint32(cfg.FrameInterval.Seconds() * float64(cfg.ClockRate))
	buf := make([]byte, max(cfg.FrameBytes, cfg.KeyframeBytes, 16))
	var requests uint64
	for n := 0; ; n++ {
		size := cfg.FrameBytes
		key := cfg.KeyframeEvery > 0 && n%cfg.KeyframeEvery == 0
		if r := t.keyframeRequests.Load(); cfg.KeyframeOnRequest && r != requests {
			requests = r
			key = video
		}
		if key {
			size = cfg.KeyframeBytes
		}
		frame := buf[:size]
		if video {
			frame[0] = 0x10 // VP8 descriptor: start of partition 0
			frame[1] = 0x01 // VP8 header: inter frame
			if key {
				frame[1] = 0x00 // keyframe (P bit clear)
			}
		} else {
			frame[0] = 0x78 // Opus TOC: CELT FB 20 ms, mono
			frame[1] = 0
		}
		copy(frame[2:], stampMagic[:])
		binary.BigEndian.PutUint64(frame[4:], uint64(time.Now().UnixNano()))
		if err := t.WriteFrame(frame, 1100, step); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// RemoteTrack is a track we receive: counted, never decoded.
type RemoteTrack struct {
	Mid         string
	Participant string
	Source      string
	Kind        string
	track       *webrtc.TrackRemote
	recv        *webrtc.RTPReceiver
	pc          *webrtc.PeerConnection

	ended   atomic.Bool
	packets atomic.Uint64
	bytes   atomic.Uint64
	first   atomic.Int64 // unix nanos of the first packet

	mu       sync.Mutex
	payloads [][]byte // the first few payloads, for tests to inspect
}

// Packets is the number of RTP packets received.
func (r *RemoteTrack) Packets() uint64 { return r.packets.Load() }

// Bytes is the number of RTP bytes received.
func (r *RemoteTrack) Bytes() uint64 { return r.bytes.Load() }

// Receiver is the track's RTPReceiver (the load generator's light
// receiver reads its transport's keys and address).
func (r *RemoteTrack) Receiver() *webrtc.RTPReceiver { return r.recv }

// Ended reports whether the server stopped sending this track.
func (r *RemoteTrack) Ended() bool { return r.ended.Load() }

// RequestKeyframe sends the server a picture loss indication for this
// track, as a browser does when it cannot decode until the next key frame.
func (r *RemoteTrack) RequestKeyframe() error {
	return r.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(r.track.SSRC())}})
}

// HeaderExtensionID returns the ID negotiated for the header extension
// uri on this track, 0 if none.
func (r *RemoteTrack) HeaderExtensionID(uri string) uint8 {
	for _, ext := range r.recv.GetParameters().HeaderExtensions {
		if ext.URI == uri {
			return uint8(ext.ID)
		}
	}
	return 0
}

// SendREMB sends the server a receiver's estimate of the bitrate its path
// carries (bits per second), naming this track, as a libwebrtc receiver
// does when goog-remb is negotiated.
func (r *RemoteTrack) SendREMB(bitrate float32) error {
	return r.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bitrate, SSRCs: []uint32{uint32(r.track.SSRC())}}})
}

// Payloads returns copies of the first payloads received.
func (r *RemoteTrack) Payloads() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.payloads...)
}

const keptPayloads = 8

func (r *RemoteTrack) receive(notify func(), observe func([]byte)) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := r.track.Read(buf)
		if err != nil {
			r.ended.Store(true)
			notify()
			return
		}
		if r.packets.Add(1) == 1 {
			r.first.Store(time.Now().UnixNano())
			notify()
		}
		r.bytes.Add(uint64(n))
		if observe != nil {
			observe(buf[:n])
		}
		if r.packets.Load() <= keptPayloads && pkt.Unmarshal(buf[:n]) == nil {
			r.mu.Lock()
			r.payloads = append(r.payloads, append([]byte(nil), pkt.Payload...))
			r.mu.Unlock()
		}
	}
}

func isKeyframeRequest(p rtcp.Packet) bool {
	switch p.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
		return true
	}
	return false
}
