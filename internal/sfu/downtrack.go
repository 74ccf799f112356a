package sfu

import (
	"errors"
	"strings"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

var errNoCodec = errors.New("subscriber did not negotiate the publisher's codec")

// DownTrack is one subscriber's copy of an UpTrack. It implements
// webrtc.TrackLocal so that pion binds it to the subscriber's sender.
type DownTrack struct {
	up   *UpTrack
	peer *Peer

	sender      *webrtc.RTPSender
	transceiver *webrtc.RTPTransceiver

	// binding is set while the track is bound to a negotiated sender.
	binding atomic.Pointer[binding]

	// hdr and exts are the outgoing header, reused for every packet; only
	// the UpTrack's forwarding goroutine touches them.
	hdr  rtp.Header
	exts [2]rtp.Extension
}

type binding struct {
	ssrc         uint32
	payloadType  uint8
	audioLevelID uint8
	writer       webrtc.TrackLocalWriter
}

func newDownTrack(up *UpTrack, peer *Peer) *DownTrack {
	return &DownTrack{up: up, peer: peer}
}

// ID implements webrtc.TrackLocal.
func (d *DownTrack) ID() string { return string(d.up.source) }

// RID implements webrtc.TrackLocal; forwarded tracks are not simulcast.
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
	want := d.up.remote.Codec()
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		b := &binding{
			ssrc:        uint32(ctx.SSRC()),
			payloadType: uint8(c.PayloadType),
			writer:      ctx.WriteStream(),
		}
		for _, ext := range ctx.HeaderExtensions() {
			if ext.URI == audioLevelURI {
				b.audioLevelID = uint8(ext.ID)
			}
		}
		d.binding.Store(b)
		d.up.requestKeyframe()
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, errNoCodec
}

// Unbind implements webrtc.TrackLocal.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.binding.Store(nil)
	return nil
}

// writeRTP sends one packet to the subscriber, rewritten for its SSRC and
// payload type. Header extensions are not copied (their IDs are negotiated
// per connection); the audio level is carried over under the subscriber's
// ID. It reports whether the packet was sent.
func (d *DownTrack) writeRTP(pkt *rtp.Packet, audioLevel []byte) bool {
	b := d.binding.Load()
	if b == nil {
		return false
	}
	h := &d.hdr
	h.Version = 2
	h.Padding = pkt.Padding
	h.PaddingSize = pkt.Header.PaddingSize
	h.Marker = pkt.Marker
	h.PayloadType = b.payloadType
	h.SequenceNumber = pkt.SequenceNumber
	h.Timestamp = pkt.Timestamp
	h.SSRC = b.ssrc
	h.CSRC = pkt.CSRC
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = d.exts[:0]
	if audioLevel != nil && b.audioLevelID != 0 {
		_ = h.SetExtension(b.audioLevelID, audioLevel)
	}
	_, err := b.writer.WriteRTP(h, pkt.Payload)
	return err == nil
}

// readRTCP handles the subscriber's feedback about this track: a picture
// loss or intra-frame request becomes a (throttled) keyframe request to the
// publisher. NACKs are answered by the NACK interceptor, which sees the
// packets as they are read here.
func (d *DownTrack) readRTCP() {
	for {
		pkts, _, err := d.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.up.requestKeyframe()
			}
		}
	}
}
