package sfu

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// FuzzSessionDescription: the checks a client's session description meets
// before the connection applies it never panic; the size bound never
// counts fewer m-lines than pion's parser finds, so it cannot be dodged by
// layout, and counts exactly as many in any description whose lines end
// in \r\n or \n with no "m=" after a blank (the bound counts those
// everywhere, pion only after some kinds of line, so an odd description
// may count more and be refused sooner, never later); and the
// published-track check refuses
// with ErrBadSDP or ErrBadTracks, or gives every listed track a sending
// m-line of its kind, once.
//
// tracks lists the client's published tracks as "mid=source" pairs
// separated by ";".
func FuzzSessionDescription(f *testing.F) {
	f.Add(offerSDP("audio 0 sendonly", "video 1 sendonly", "video 2 recvonly"), "0=microphone;1=camera")
	f.Add(offerSDP("video 0 sendrecv", "audio 1 sendrecv", "video 2 sendonly", "audio 3 inactive"), "0=screen;1=screen-audio;2=camera")
	f.Add(offerSDP("audio 0 sendonly"), "0=camera")
	f.Add(strings.ReplaceAll(offerSDP("audio 0 sendonly", "video 1 sendonly"), "\r\n", "\n"), "1=camera")
	f.Add(strings.ReplaceAll(offerSDP("audio 0 sendonly", "video 1 sendonly"), "\r\n", "\r\r\n"), "1=camera;1=camera")
	f.Add("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=x:m=video\r\n", "")
	f.Add(strings.Repeat("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", 10), "")
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { pc.Close() })
	p := &Peer{pc: pc} // nothing offered: up to maxClientMLines m-lines
	f.Fuzz(func(t *testing.T, desc, tracks string) {
		n := mediaSections(desc)
		err := p.checkSize(desc)
		if wantErr := len(desc) > maxSDPBytes || n > maxClientMLines; (err != nil) != wantErr || (err != nil && !errors.Is(err, ErrBadSDP)) {
			t.Fatalf("checkSize of %d bytes and %d m-lines: %v", len(desc), n, err)
		}
		var sd sdp.SessionDescription
		parsed := sd.UnmarshalString(desc) == nil
		odd := strings.Contains(strings.ReplaceAll(desc, "\r\n", ""), "\r") || strings.Contains(desc, " m=") || strings.Contains(desc, "\tm=")
		if parsed && (n < len(sd.MediaDescriptions) || (!odd && n != len(sd.MediaDescriptions))) {
			t.Fatalf("counted %d m-lines, pion parsed %d, in %q", n, len(sd.MediaDescriptions), desc)
		}

		var published []PublishedTrack
		if tracks != "" {
			for pair := range strings.SplitSeq(tracks, ";") {
				mid, source, _ := strings.Cut(pair, "=")
				published = append(published, PublishedTrack{Mid: mid, Source: Source(source)})
			}
		}
		out, err := checkPublished(desc, published)
		switch {
		case !parsed:
			if !errors.Is(err, ErrBadSDP) {
				t.Fatalf("pion refuses the description, checkPublished says %v", err)
			}
			return
		case err != nil:
			if !errors.Is(err, ErrBadTracks) || out != nil {
				t.Fatalf("checkPublished: %v, %v", out, err)
			}
			return
		case len(out) != len(published):
			t.Fatalf("%d tracks published, %d accepted", len(published), len(out))
		}
		seen := map[Source]bool{}
		for _, tr := range published {
			if out[tr.Mid] != tr.Source || !tr.Source.Valid() || seen[tr.Source] {
				t.Fatalf("accepted %v for %v", out, published)
			}
			seen[tr.Source] = true
			if !sending(sd, tr.Mid, tr.Source.Kind()) {
				t.Fatalf("accepted %s on mid %q, which is not a sending %s m-line", tr.Source, tr.Mid, tr.Source.Kind())
			}
		}
	})
}

// sending reports whether the last m-line of sd with mid sends media of
// kind (the last, as checkPublished keeps the last of a repeated mid).
func sending(sd sdp.SessionDescription, mid string, kind webrtc.RTPCodecType) bool {
	ok := false
	for _, md := range sd.MediaDescriptions {
		if m, _ := md.Attribute(sdp.AttrKeyMID); m != mid {
			continue
		}
		_, sendonly := md.Attribute("sendonly")
		_, sendrecv := md.Attribute("sendrecv")
		ok = webrtc.NewRTPCodecType(md.MediaName.Media) == kind && (sendonly || sendrecv)
	}
	return ok
}
