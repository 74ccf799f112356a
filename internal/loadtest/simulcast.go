package loadtest

import (
	"context"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// A simulcast publisher sends its camera as a browser does with simulcast
// on (Config.Simulcast): three encodings of one transceiver, each with its
// own SSRC and rid ("q", "h", "f", lowest first; docs/protocol.md), the
// packets carrying the mid and rid header extensions. Each layer is its own
// synthetic stream: the top layer at Config.Bitrate, the middle at a third
// of it and the lowest at a tenth (about a 720p camera's 1.7 Mbit/s,
// 500 kbit/s and 150 kbit/s), all at Config.FPS with periodic key frames at
// the same times, and a key frame on a layer whenever the server asked for
// one of that layer since its last frame (each layer's encoder on its own,
// as libwebrtc's simulcast adapter runs them).

// simulcastLayers are the camera's encodings, lowest first, with the share
// of Config.Bitrate each is sent at (numerator over denominator).
var simulcastLayers = []struct {
	rid      string
	num, den int
}{
	{"q", 1, 10},
	{"h", 1, 3},
	{"f", 1, 1},
}

// simulcastInterceptors are lightInterceptors and the header extensions a
// simulcast sender needs (mid, rid, repaired rid): without them pion
// offers the layers as SSRCs alone, which the server takes for Plan B.
func simulcastInterceptors(m *webrtc.MediaEngine, r *interceptor.Registry) error {
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return err
	}
	return lightInterceptors(m, r)
}

// pumpLayers sends a simulcast camera's three layers until ctx ends.
func (r *run) pumpLayers(ctx context.Context, cam *client.LocalTrack) {
	for _, l := range simulcastLayers {
		track := cam.Layer(l.rid)
		if track == nil {
			r.log.Warn("simulcast camera without layer", "rid", l.rid)
			continue
		}
		cfg := r.cfg
		cfg.Bitrate = max(1, cfg.Bitrate*l.num/l.den)
		pump := cfg.videoPump()
		go func() { _ = track.Pump(ctx, pump) }()
	}
}

// keyframeRequests counts the key frame requests (PLI or FIR) the server
// sent for the camera, by layer (one entry for a camera without
// simulcast), lowest first.
func keyframeRequests(cam *client.LocalTrack) []uint64 {
	if cam.Layer(simulcastLayers[0].rid) == nil {
		return []uint64{cam.KeyframeRequests()}
	}
	n := make([]uint64, 0, len(simulcastLayers))
	for _, l := range simulcastLayers {
		if t := cam.Layer(l.rid); t != nil {
			n = append(n, t.KeyframeRequests())
		}
	}
	return n
}

// requestsSince returns what each layer was asked for since before, and
// their sum.
func requestsSince(now, before []uint64) (byLayer []int, total int) {
	byLayer = make([]int, len(now))
	for i := range now {
		if i < len(before) {
			byLayer[i] = int(now[i] - before[i])
		}
		total += byLayer[i]
	}
	return byLayer, total
}
