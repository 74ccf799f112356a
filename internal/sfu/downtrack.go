package sfu

import (
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

var errNoCodec = errors.New("subscriber did not negotiate the publisher's codec")

// DownTrack is one subscriber's copy of an UpTrack. It implements
// webrtc.TrackLocal so that pion binds it to the subscriber's sender.
//
// The subscriber sees one continuous stream whatever layer it gets: its
// own SSRC, and sequence numbers, timestamps and VP8 picture IDs shifted
// at each layer switch (and after a hidden tile's pause) so that they run
// on without a jump.
type DownTrack struct {
	up   *UpTrack
	peer *Peer

	sender      *webrtc.RTPSender
	transceiver *webrtc.RTPTransceiver

	// binding is set while the track is bound to a negotiated sender.
	binding atomic.Pointer[binding]

	// target is the layer the subscriber should get, set by the layer
	// chooser; current, the layer it gets (-1 before the first packet),
	// changes only on a key frame of the target.
	target  atomic.Int32
	current atomic.Int32
	// begun is set at the first frame forwarded. Before it, a simulcast
	// subscriber starts on a key frame of any layer up to startMax (-1:
	// only its target), see startframe.go.
	begun    atomic.Bool
	startMax atomic.Int32

	// What the subscriber asked for and what its path allows; see
	// chooseLayer.
	maxWidth, maxHeight atomic.Int32  // drawn size in device pixels; 0 = not known
	hidden              atomic.Bool   // the subscriber shows no tile for this track: forward none of it
	estimate            atomic.Uint64 // the latest REMB, bits per second; 0 if none
	estimateFell        atomic.Bool   // a REMB lower than the one before came since the last tick
	lossReported        atomic.Bool   // a receiver report showed heavy loss since the last tick
	nacked              atomic.Uint64 // packets the subscriber asked for again (each once)
	choice              chooser
	// targetChanges and switches count changes of target and of the layer
	// forwarded.
	targetChanges, switches atomic.Uint64

	// The rest is guarded by up.fanout.
	hdr      rtp.Header // the outgoing header, reused for every packet
	exts     [2]rtp.Extension
	rtxHdr   rtp.Header   // header of a cached packet being retransmitted
	resends  *resendTable // by outgoing sequence number; nil until a NACK
	started  bool
	lastSeq  uint16 // newest sequence number sent
	lastTS   uint32
	lastAt   int64
	segments [4]segment // the latest layer switches, newest at segments[0]
	nackHigh uint16     // the newest sequence number NACKed
	nackSeen bool       // nackHigh is set
	// paused: forwarding stopped while the tile was hidden; it resumes
	// with a key frame.
	paused bool
	// The VP8 picture ID (15 bits) and TL0PICIDX of the newest packet
	// sent, as the subscriber saw them, if one carried them.
	picOut           uint16
	tl0Out           uint8
	picSent, tl0Sent bool
	// vp8Buf is the subscriber's own copy of a payload whose descriptor
	// is rewritten: the packet's buffer is shared by every subscriber and
	// the cache. Made at the first rewrite: most DownTracks never rewrite
	// (audio, a camera without simulcast), and 1.5 KiB in each was 27 KiB
	// a participant in a 10×10 meeting.
	vp8Buf *[cacheSlotSize]byte
}

// segment is a run of packets from one layer, with the offsets that map
// its sequence numbers and timestamps to the subscriber's.
type segment struct {
	valid     bool
	layer     int
	firstIn   uint16 // publisher's sequence number of the switch's key frame
	firstOut  uint16
	seqOffset uint16
	tsOffset  uint32
	// vp8: the payloads' picture IDs and TL0PICIDX are shifted by
	// picOffset (mod 2^15, or 2^7 for a 7-bit ID) and tl0Offset, each
	// chosen at the segment's first packet that carries the field
	// (picSet, tl0Set), so that a retransmission carries what the packet
	// carried when first sent.
	vp8            bool
	picSet, tl0Set bool
	picOffset      uint16
	tl0Offset      uint8
}

// maxResends is how many times one packet is sent again to a subscriber,
// however often it is asked for. A packet that five retransmissions did not
// bring is better given up (the subscriber asks for a key frame; Chrome
// itself stops asking after ten tries); and a subscriber that keeps asking
// for what it has, or never accepts, such as a client whose SRTP replay
// window is shorter than the cache, can make the SFU send it no more than
// 1+maxResends times the track's packets, whatever its NACKs say.
const maxResends = 5

// resendTable counts how many times each recent packet was sent again,
// one 16-bit entry per sequence number modulo videoCachePackets (512, as
// many as a layer's cache can hold, so that every packet the cache can
// still give has a count of its own). An entry packs what tells packets
// apart, the sequence number's upper 7 bits (the lower 9 are its index)
// and bits 16–21 of the timestamp (a 0.73 s step at 90 kHz: the packet of
// the same number 65536 packets later, at least half a minute later at
// any rate a camera sends, has other bits there unless the clock moved by
// a multiple of 47 s), above a 3-bit count. A packet taken for an older
// one of the same entry starts from that one's count: it is sent again
// fewer times, never more. 1 KiB, made at a sender's first NACK; as eight
// bytes an entry (the whole timestamp) the tables were 4 KiB each, 62 KiB
// a participant in a 20×20 meeting whose joins drew NACKs on most tracks.
type resendTable [videoCachePackets]uint16

// resendTableIndexBits is log2 of the table's length: the sequence
// number's bits that pick the entry, not stored in it.
const resendTableIndexBits = 9

// The packing's assumptions: 512 entries, and a count below 8.
var (
	_ = [1]struct{}{}[videoCachePackets-1<<resendTableIndexBits]
	_ = [1]struct{}{}[maxResends>>3]
)

// allow reports whether the packet numbered seq, with RTP timestamp ts,
// may be sent again (it was sent again fewer than maxResends times), and
// counts it if so.
func (t *resendTable) allow(seq uint16, ts uint32) bool {
	e := &t[int(seq)&(len(t)-1)]
	key := seq>>resendTableIndexBits<<resendTableIndexBits | uint16(ts>>16&0x3f)<<3
	if *e&^7 != key {
		*e = key
	}
	if *e&7 >= maxResends {
		return false
	}
	*e++
	return true
}

type binding struct {
	ssrc         uint32
	payloadType  uint8
	audioLevelID uint8
	clockRate    uint32
	writer       webrtc.TrackLocalWriter
	// out, for a participant's DownTrack, is its peer's own SRTP
	// (srtpout.go), which encrypts and writes instead of writer once the
	// transport is up, unless it chose pion's path; nil: writer alone
	// (relays and viewers, whose PeerConnections keep pion's sender
	// reports).
	out *srtpOut
	// sent counts what was written through out, for the peer's sender
	// reports.
	sent sentCounts
}

func newDownTrack(up *UpTrack, peer *Peer) *DownTrack {
	d := &DownTrack{up: up, peer: peer}
	d.current.Store(-1)
	d.startMax.Store(-1)
	d.target.Store(int32(up.bestLayer()))
	d.choice.ceiling = maxLayers - 1
	return d
}

// ID implements webrtc.TrackLocal.
func (d *DownTrack) ID() string { return string(d.up.source) }

// RID implements webrtc.TrackLocal; a subscriber gets one layer, so the
// forwarded track is never simulcast.
func (d *DownTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal: one stream per participant and
// source group, so a browser keeps camera and microphone in sync.
func (d *DownTrack) StreamID() string {
	return d.up.owner.participant + "-" + d.up.source.streamSuffix()
}

// Kind implements webrtc.TrackLocal.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.up.Kind() }

// Bind implements webrtc.TrackLocal: called when negotiation settles the
// subscriber's SSRC and payload type.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	b, c, ok := bindCodec(ctx, d.up.codec)
	if !ok {
		return webrtc.RTPCodecParameters{}, errNoCodec
	}
	if d.peer.out != nil {
		b.out, b.clockRate, b.sent.base = d.peer.out, c.ClockRate, time.Now()
	}
	d.binding.Store(b)
	// Before the transport is up a key frame could not be delivered; the
	// peer asks for one when it comes up (Peer.requestKeyframes), and
	// asking now would only push that request back by the throttling
	// interval.
	if d.peer.connected.Load() {
		d.requestKeyframe()
	}
	return c, nil
}

// Unbind implements webrtc.TrackLocal.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.binding.Store(nil)
	return nil
}

// forward writes one packet of the UpTrack to the subscriber if it belongs
// to the layer the subscriber gets, switching layers on a key frame of the
// target layer. It returns the bytes written (0 if none). Called with
// up.fanout held.
func (d *DownTrack) forward(p *inPacket) int {
	if d.hidden.Load() && d.up.kind == webrtc.RTPCodecTypeVideo {
		// A hidden tile gets nothing; a non-zero size resumes it at a key
		// frame, numbered on from what the subscriber last got.
		if d.current.Load() >= 0 {
			d.current.Store(-1)
			d.paused = true
		}
		return 0
	}
	cur := int(d.current.Load())
	if p.layer != cur {
		// A track without simulcast starts at once (audio has no key
		// frames; video gets one on request); a layer switch, or a
		// resumption after a pause, waits for a key frame of the target
		// so the subscriber can decode from it. A simulcast subscriber's
		// first frame may be a key frame of another layer (startframe.go).
		first := !d.begun.Load() && p.keyframe && p.layer <= int(d.startMax.Load())
		if !first && (p.layer != int(d.target.Load()) || ((d.up.simulcast || d.paused) && !p.keyframe)) {
			return 0
		}
		if d.binding.Load() == nil || !d.peer.connected.Load() {
			return 0
		}
		d.switchTo(p)
	} else if s := &d.segments[0]; uint16(d.lastSeq-s.firstOut) < 1<<14 && int16(p.hdr.SequenceNumber-s.firstIn) < 0 {
		return 0 // late, from before the switch: its number is taken
	}
	s := &d.segments[0]
	seq := p.hdr.SequenceNumber + s.seqOffset
	ts := p.hdr.Timestamp + s.tsOffset
	newest := int16(seq-d.lastSeq) > 0 || !d.started
	if newest {
		d.lastSeq, d.lastTS, d.lastAt, d.started = seq, ts, p.at, true
	}
	payload := p.payload
	if s.vp8 {
		payload = d.rewriteVP8(s, payload, newest)
	}
	return d.write(p.hdr, seq, ts, payload, p.padding, p.audioLevel)
}

// rewriteVP8 returns payload with the VP8 payload descriptor's picture ID
// and TL0PICIDX shifted by the segment's offsets, on the subscriber's own
// copy (payload itself is shared with the other subscribers and the packet
// cache), or payload itself when nothing changes. Each simulcast layer
// numbers its pictures on its own; a subscriber switched between layers
// would see the picture ID jump (backwards, often), and libwebrtc's frame
// reference finder takes the new layer's frames for old ones or
// references the wrong pictures. Shifted, the picture ID goes on by one a
// frame and TL0PICIDX by one a base-layer frame across switches, each in
// its own width (a 15-bit ID stays 15 bits, a 7-bit one wraps at 128).
//
// Under end-to-end encryption this rewrites nothing encrypted: the browser
// packetizer writes the descriptor after the SFrame transform has
// encrypted the frame, so it is in clear (docs/security.md), and the
// receiver's transform never sees it.
//
// newest says that the packet is the newest sent, whose values the next
// segment's offsets follow. Called with up.fanout held.
func (d *DownTrack) rewriteVP8(s *segment, payload []byte, newest bool) []byte {
	pic, long, tl0 := vp8Picture(payload)
	if pic < 0 && tl0 < 0 {
		return payload
	}
	changed := false
	var id uint16
	var idx uint8
	if pic >= 0 {
		in := vp8PictureID(payload, pic, long)
		if !s.picSet {
			s.picSet = true
			if d.picSent {
				s.picOffset = d.picOut + 1 - in
			}
		}
		id = (in + s.picOffset) & 0x7fff
		mask := uint16(0x7fff)
		if !long {
			mask = 0x7f
		}
		changed = id&mask != in
		if newest {
			d.picOut, d.picSent = id, true
		}
	}
	if tl0 >= 0 {
		in := payload[tl0]
		if !s.tl0Set {
			s.tl0Set = true
			if d.tl0Sent {
				s.tl0Offset = d.tl0Out + 1 - in
			}
		}
		idx = in + s.tl0Offset
		changed = changed || idx != in
		if newest {
			d.tl0Out, d.tl0Sent = idx, true
		}
	}
	if !changed || len(payload) > cacheSlotSize {
		return payload
	}
	if d.vp8Buf == nil {
		d.vp8Buf = new([cacheSlotSize]byte)
	}
	out := d.vp8Buf[:len(payload)]
	copy(out, payload)
	if pic >= 0 {
		putVP8PictureID(out, pic, long, id)
	}
	if tl0 >= 0 {
		out[tl0] = idx
	}
	return out
}

// switchTo starts forwarding p's layer with p, shifting its numbering to
// follow what the subscriber has seen.
func (d *DownTrack) switchTo(p *inPacket) {
	s := segment{valid: true, layer: p.layer, firstIn: p.hdr.SequenceNumber,
		vp8: d.up.kind == webrtc.RTPCodecTypeVideo && strings.EqualFold(d.up.codec.MimeType, webrtc.MimeTypeVP8)}
	// A change of the layer forwarded; a pause resumed on the same layer
	// is not one.
	switched := d.started && d.segments[0].valid && d.segments[0].layer != p.layer
	if d.started {
		s.seqOffset = d.lastSeq + 1 - p.hdr.SequenceNumber
		step := uint32(1)
		if elapsed := p.at - d.lastAt; elapsed > 0 {
			step = max(1, uint32(elapsed*int64(d.up.codec.ClockRate)/1e9))
		}
		s.tsOffset = d.lastTS + step - p.hdr.Timestamp
	}
	s.firstOut = p.hdr.SequenceNumber + s.seqOffset
	copy(d.segments[1:], d.segments[:len(d.segments)-1])
	d.segments[0] = s
	d.current.Store(int32(p.layer))
	d.begun.Store(true)
	d.paused = false
	if switched {
		d.switches.Add(1)
	}
}

// write sends one packet, rewritten for the subscriber's SSRC, payload
// type, sequence number and timestamp. Header extensions are not copied
// (their IDs are negotiated per connection); the audio level is carried
// over under the subscriber's ID. Called with up.fanout held.
func (d *DownTrack) write(in *rtp.Header, seq uint16, ts uint32, payload []byte, padding byte, audioLevel []byte) int {
	b := d.binding.Load()
	if b == nil {
		return 0
	}
	return b.write(&d.hdr, d.exts[:0], in, seq, ts, payload, padding, audioLevel)
}

// write sends one packet through the binding: the header h (reused, its
// extensions in exts) is filled from in with the binding's SSRC and
// payload type and the sequence number and timestamp given; only the
// audio level extension is carried, under the binding's ID. It returns
// the bytes sent, 0 if the write failed. Must not allocate.
func (b *binding) write(h *rtp.Header, exts []rtp.Extension, in *rtp.Header, seq uint16, ts uint32, payload []byte, padding byte, audioLevel []byte) int {
	h.Version = 2
	h.Padding = padding > 0
	h.PaddingSize = padding
	h.Marker = in.Marker
	h.PayloadType = b.payloadType
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.SSRC = b.ssrc
	h.CSRC = in.CSRC
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = exts
	if audioLevel != nil && b.audioLevelID != 0 {
		_ = h.SetExtension(b.audioLevelID, audioLevel)
	}
	if o := b.out; o != nil {
		switch o.state.Load() {
		case outOwn:
			if !o.write(h, payload) {
				return 0
			}
		case outPion:
			if _, err := b.writer.WriteRTP(h, payload); err != nil {
				return 0
			}
		default:
			return 0 // the transport is not up: pion would drop it too
		}
		b.sent.note(seq, ts, len(payload))
	} else if _, err := b.writer.WriteRTP(h, payload); err != nil {
		return 0
	}
	return h.MarshalSize() + len(payload) + int(padding)
}

// retransmit answers a NACK from the packet cache of the layer each lost
// packet came from. Packets no longer cached, or already sent again
// maxResends times, are skipped: the subscriber's decoder recovers with a
// key frame it asks for.
func (d *DownTrack) retransmit(n *rtcp.TransportLayerNack) {
	up := d.up
	up.fanout.Lock()
	defer up.fanout.Unlock()
	if up.blocked.Load() {
		return
	}
	for _, pair := range n.Nacks {
		for i := 0; i < 17; i++ {
			seq := pair.PacketID + uint16(i)
			if i > 0 && pair.LostPackets&(1<<(i-1)) == 0 {
				continue
			}
			// A packet is counted as lost once, however often it is
			// asked for: a browser asks again every round trip.
			if !d.nackSeen || int16(seq-d.nackHigh) > 0 {
				d.nackHigh, d.nackSeen = seq, true
				d.nacked.Add(1)
			}
			d.resend(seq)
		}
	}
}

// resend writes the packet the subscriber numbered seq again, if the cache
// still has it. Called with up.fanout held.
func (d *DownTrack) resend(seq uint16) {
	if !d.started || int16(seq-d.lastSeq) > 0 {
		return
	}
	upper := d.lastSeq
	for i := range d.segments {
		s := &d.segments[i]
		if !s.valid {
			return
		}
		if uint16(seq-s.firstOut) > uint16(upper-s.firstOut) {
			upper = s.firstOut - 1
			continue // sent before this segment began
		}
		l := d.up.layers[s.layer].Load()
		if l == nil || l.cache == nil {
			return
		}
		raw := l.cache.get(seq - s.seqOffset)
		if raw == nil {
			return
		}
		hlen, err := d.rtxHdr.Unmarshal(raw)
		if err != nil {
			return
		}
		ts := d.rtxHdr.Timestamp + s.tsOffset
		if d.resends == nil {
			d.resends = new(resendTable)
		}
		if !d.resends.allow(seq, ts) {
			return
		}
		end := len(raw)
		var pad byte
		if d.rtxHdr.Padding {
			pad = raw[end-1]
			end -= int(pad)
		}
		payload := raw[hlen:end]
		if s.vp8 {
			// The offsets the packet was first sent with: the
			// retransmission carries the same picture ID.
			payload = d.rewriteVP8(s, payload, false)
		}
		d.write(&d.rtxHdr, seq, ts, payload, pad, nil)
		return
	}
}

// readRTCP handles the subscriber's feedback about this track: NACKs are
// answered from the packet cache; a picture loss or intra-frame request
// becomes a (throttled) keyframe request to the publisher; receiver
// reports and REMB feed the layer chooser. Nothing is passed on to the
// publisher unthrottled.
func (d *DownTrack) readRTCP() {
	for {
		pkts, _, err := d.sender.ReadRTCP()
		if err != nil {
			return
		}
		d.handleRTCP(pkts)
	}
}

// handleRTCP is readRTCP's handling of what arrived; a participant's
// PeerConnection calls it as it decrypts the packets (rtcpsink.go).
func (d *DownTrack) handleRTCP(pkts []rtcp.Packet) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerNack:
			d.retransmit(p)
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			d.requestKeyframe()
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			d.noteEstimate(uint64(p.Bitrate))
		case *rtcp.ReceiverReport:
			d.noteReports(p.Reports)
		}
	}
}

// requestKeyframe asks for a key frame of the layer the subscriber gets, or
// the one it waits for; before its first frame of a simulcast track, for
// the first key frame of any layer it may start on (startframe.go).
func (d *DownTrack) requestKeyframe() {
	if d.hidden.Load() {
		return // the subscriber gets nothing of it; showing it asks again
	}
	if d.up.simulcast && !d.begun.Load() && d.requestStart() {
		return
	}
	i := d.current.Load()
	if t := d.target.Load(); t != i {
		i = t
	}
	if i < 0 {
		d.up.requestKeyframe()
		return
	}
	if l := d.up.layers[i].Load(); l != nil {
		l.requestKeyframe()
	}
}
