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
	sections, err := mediaSections(offer, true)
	if err != nil {
		return nil, err
	}
	tracks := make([]sfu.PublishedTrack, 0, len(sections))
	for _, sec := range sections {
		tracks = append(tracks, sfu.PublishedTrack{Mid: sec.mid, Source: sec.source})
	}
	return tracks, nil
}

// viewedKinds checks a WHEP offer as publishedTracks does a WHIP one,
// but for sections that receive (a=recvonly): at most one audio and one
// video, with a mid, offering Opus and VP8. It says which there are.
func viewedKinds(offer string) (audio, video bool, err error) {
	sections, err := mediaSections(offer, false)
	if err != nil {
		return false, false, err
	}
	for _, sec := range sections {
		switch sec.source {
		case sfu.SourceMicrophone:
			audio = true
		case sfu.SourceCamera:
			video = true
		}
	}
	return audio, video, nil
}

// section is one media section of an offer that was checked: its mid,
// and the source it is (a microphone for audio, a camera for video).
type section struct {
	mid    string
	source sfu.Source
}

// mediaSections checks an offer's media sections: at least one, each
// audio or video, at most one of each, each with a mid, sending (WHIP:
// a=sendonly or a=sendrecv) or receiving only (WHEP: a=recvonly) as
// sending says, and offering the codec the SFU forwards for its kind.
func mediaSections(offer string, sending bool) ([]section, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no media section", ErrBadOffer)
	}
	var out []section
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
		if sending {
			_, sendonly := md.Attribute("sendonly")
			_, sendrecv := md.Attribute("sendrecv")
			if !sendonly && !sendrecv {
				return nil, fmt.Errorf("%w: the %s section does not send (a=sendonly expected)", ErrBadOffer, md.MediaName.Media)
			}
		} else if _, recvonly := md.Attribute("recvonly"); !recvonly {
			return nil, fmt.Errorf("%w: the %s section does not only receive (a=recvonly expected)", ErrBadOffer, md.MediaName.Media)
		}
		if !offersCodec(md, codec) {
			return nil, fmt.Errorf("%w: the %s section offers no %s; this server forwards Opus audio and VP8 video", ErrUnsupportedCodec, md.MediaName.Media, strings.ToUpper(codec))
		}
		out = append(out, section{mid: mid, source: source})
	}
	return out, nil
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
