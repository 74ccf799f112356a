package whip

import (
	"strings"
	"testing"
)

var seedWatchOffer = strings.ReplaceAll(seedOffer, "a=sendonly", "a=recvonly")

// FuzzWatchOffer: whatever a program POSTs to WHEP, the offer check never
// panics, and what it accepts receives at most one audio and one video
// section, each on its own mid.
func FuzzWatchOffer(f *testing.F) {
	f.Add(seedWatchOffer)
	f.Add(seedOffer)
	f.Add(strings.Replace(seedWatchOffer, "VP8", "H264", 1))
	f.Add(seedWatchOffer + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n")
	f.Fuzz(func(t *testing.T, offer string) {
		audio, video, err := viewedKinds(offer)
		if err != nil {
			return
		}
		if !audio && !video {
			t.Fatal("an offer with nothing to receive accepted")
		}
		sections, err := mediaSections(offer, false)
		if err != nil || len(sections) > 2 || (len(sections) == 2 && sections[0].mid == sections[1].mid) {
			t.Fatalf("accepted %+v, %v", sections, err)
		}
	})
}

// TestWatchOfferChecks: the seed offer is taken as audio and video; a
// video-only one as video; the refusals are those of WHIP, and an offer
// that sends (sendonly, or sendrecv) is refused too.
func TestWatchOfferChecks(t *testing.T) {
	if a, v, err := viewedKinds(seedWatchOffer); err != nil || !a || !v {
		t.Fatalf("%v %v %v", a, v, err)
	}
	videoOnly := seedWatchOffer[:strings.Index(seedWatchOffer, "m=audio")] + seedWatchOffer[strings.Index(seedWatchOffer, "m=video"):]
	if a, v, err := viewedKinds(videoOnly); err != nil || a || !v {
		t.Fatalf("video only: %v %v %v", a, v, err)
	}
	for name, offer := range map[string]string{
		"sends":              seedOffer,
		"sends and receives": strings.Replace(seedWatchOffer, "a=recvonly", "a=sendrecv", 1),
		"no VP8":             strings.Replace(seedWatchOffer, "VP8", "H264", 1),
		"no Opus":            strings.Replace(seedWatchOffer, "opus", "PCMU", 1),
		"no mid":             strings.Replace(seedWatchOffer, "a=mid:1\r\n", "", 1),
		"a second video":     seedWatchOffer + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n",
		"a data channel":     seedWatchOffer + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n",
		"not a description":  "hello",
	} {
		if _, _, err := viewedKinds(offer); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
