package whip

import (
	"fmt"
	"strings"

	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/pion/sdp/v3"
)

// maxOfferBytes bounds an offer's body: a WHIP offer with two media
// sections and a dozen codecs is a few kilobytes.
const maxOfferBytes = 32 << 10

// publishedTracks checks a WHIP offer and says what each media section
// carries: at most one audio section (the source's microphone) and one
// video section (its camera), both sending, with a mid, offering Opus
// and VP8 respectively. Anything else (data channels, a second video,
// only H.264) is refused before the SFU parses it.
func publishedTracks(offer string) ([]sfu.PublishedTrack, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no media section", ErrBadOffer)
	}
	var tracks []sfu.PublishedTrack
	seen := map[sfu.Source]bool{}
	for i, md := range sd.MediaDescriptions {
		var source sfu.Source
		var codec string
		switch md.MediaName.Media {
		case "audio":
			source, codec = sfu.SourceMicrophone, "opus"
		case "video":
			source, codec = sfu.SourceCamera, "vp8"
		default:
			return nil, fmt.Errorf("%w: media section %d is %q; only audio and video are taken", ErrBadOffer, i, md.MediaName.Media)
		}
		if seen[source] {
			return nil, fmt.Errorf("%w: more than one %s section", ErrBadOffer, md.MediaName.Media)
		}
		seen[source] = true
		mid, ok := md.Attribute(sdp.AttrKeyMID)
		if !ok || mid == "" {
			return nil, fmt.Errorf("%w: media section %d has no mid", ErrBadOffer, i)
		}
		_, sendonly := md.Attribute("sendonly")
		_, sendrecv := md.Attribute("sendrecv")
		if !sendonly && !sendrecv {
			return nil, fmt.Errorf("%w: the %s section does not send (a=sendonly expected)", ErrBadOffer, md.MediaName.Media)
		}
		if !offersCodec(md, codec) {
			return nil, fmt.Errorf("%w: the %s section offers no %s; this server forwards Opus audio and VP8 video", ErrUnsupportedCodec, md.MediaName.Media, strings.ToUpper(codec))
		}
		tracks = append(tracks, sfu.PublishedTrack{Mid: mid, Source: source})
	}
	return tracks, nil
}

// offersCodec reports whether a media section has an rtpmap for codec
// (case-insensitive, as SDP encoding names are).
func offersCodec(md *sdp.MediaDescription, codec string) bool {
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		_, enc, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(enc, "/")
		if strings.EqualFold(name, codec) {
			return true
		}
	}
	return false
}
