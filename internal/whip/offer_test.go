package whip

import (
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/sfu"
)

const seedOffer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n"

// FuzzOffer: whatever a program POSTs, the offer check never panics, and
// what it accepts is at most one microphone and one camera, each on its
// own non-empty mid, as the SFU's track list needs.
func FuzzOffer(f *testing.F) {
	f.Add(seedOffer)
	f.Add(strings.Replace(seedOffer, "VP8", "H264", 1))
	f.Add(seedOffer + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n")
	f.Add(seedOffer + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n")
	f.Add("v=0\r\n")
	f.Fuzz(func(t *testing.T, offer string) {
		tracks, err := publishedTracks(offer)
		if err != nil {
			return
		}
		if len(tracks) == 0 || len(tracks) > 2 {
			t.Fatalf("%d tracks accepted", len(tracks))
		}
		mids := map[string]bool{}
		sources := map[sfu.Source]bool{}
		for _, tr := range tracks {
			if tr.Mid == "" || mids[tr.Mid] || sources[tr.Source] || (tr.Source != sfu.SourceMicrophone && tr.Source != sfu.SourceCamera) {
				t.Fatalf("accepted %+v", tracks)
			}
			mids[tr.Mid], sources[tr.Source] = true, true
		}
	})
}

// TestOfferChecks: the seed offer is taken as a microphone and a camera;
// the refusals say why.
func TestOfferChecks(t *testing.T) {
	tracks, err := publishedTracks(seedOffer)
	if err != nil || len(tracks) != 2 || tracks[0] != (sfu.PublishedTrack{Mid: "0", Source: sfu.SourceMicrophone}) || tracks[1] != (sfu.PublishedTrack{Mid: "1", Source: sfu.SourceCamera}) {
		t.Fatalf("%+v %v", tracks, err)
	}
	for name, offer := range map[string]string{
		"no VP8":            strings.Replace(seedOffer, "VP8", "H264", 1),
		"no Opus":           strings.Replace(seedOffer, "opus", "PCMU", 1),
		"receive only":      strings.Replace(seedOffer, "a=mid:1\r\na=sendonly", "a=mid:1\r\na=recvonly", 1),
		"no mid":            strings.Replace(seedOffer, "a=mid:1\r\n", "", 1),
		"a second video":    seedOffer + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n",
		"a data channel":    seedOffer + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n",
		"no media at all":   "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
		"not a description": "hello",
	} {
		if _, err := publishedTracks(offer); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
