// Package whiptest is a WHIP client (RFC 9725) for tests, built on
// pion/webrtc as a streaming program's would be: it offers one Opus
// audio and one VP8 video track, sendonly, with every candidate in the
// offer (no trickle), POSTs it with a bearer token, applies the answer,
// and DELETEs the session's resource when closed.
package whiptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Publisher is a WHIP session from the client's side.
type Publisher struct {
	PC       *webrtc.PeerConnection
	Audio    *webrtc.TrackLocalStaticRTP
	Video    *webrtc.TrackLocalStaticRTP
	Location string // the session's resource, absolute
	token    string
	cancel   context.CancelFunc
	done     chan struct{}
}

// Refusal is the server's answer when it did not take the offer.
type Refusal struct {
	Status int
	Header http.Header
	Body   string
	// URL is where the answer came from, after any redirect (RFC 9725
	// section 4.6): a relative Location is that URL's.
	URL *url.URL
}

func (r *Refusal) Error() string { return fmt.Sprintf("whip: %d %s", r.Status, r.Body) }

// Offer makes a client's offer: Opus and VP8, sendonly, candidates
// gathered. The PeerConnection is returned for Publish to finish.
func Offer(ctx context.Context) (*Publisher, string, error) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return nil, "", err
	}
	p := &Publisher{PC: pc, done: make(chan struct{})}
	p.Audio, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "whip")
	p.Video, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "whip")
	for _, tr := range []webrtc.TrackLocal{p.Audio, p.Video} {
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			pc.Close()
			return nil, "", err
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	select {
	case <-webrtc.GatheringCompletePromise(pc):
	case <-ctx.Done():
		pc.Close()
		return nil, "", ctx.Err()
	}
	return p, pc.LocalDescription().SDP, nil
}

// Publish offers to endpoint with token and, when the server takes the
// offer (201), applies its answer. A refusal is a *Refusal.
func Publish(ctx context.Context, endpoint, token string) (*Publisher, error) {
	p, offer, err := Offer(ctx)
	if err != nil {
		return nil, err
	}
	if p.Location, err = exchange(ctx, p.PC, "whip", endpoint, token, offer); err != nil {
		return nil, err
	}
	p.token = token
	return p, nil
}

// exchange posts offer to endpoint with token and, when the server takes
// it (201), applies its answer to pc and returns the session's resource;
// otherwise it closes pc. A refusal is a *Refusal; proto names the
// protocol in errors.
func exchange(ctx context.Context, pc *webrtc.PeerConnection, proto, endpoint, token, offer string) (string, error) {
	res, err := Post(ctx, endpoint, token, "application/sdp", offer)
	if err != nil {
		pc.Close()
		return "", err
	}
	if res.Status != http.StatusCreated {
		pc.Close()
		return "", res
	}
	loc, err := res.URL.Parse(res.Header.Get("Location"))
	if err != nil || res.Header.Get("Location") == "" {
		pc.Close()
		return "", fmt.Errorf("%s: bad Location %q", proto, res.Header.Get("Location"))
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: res.Body}); err != nil {
		pc.Close()
		return "", fmt.Errorf("%s: apply answer: %w", proto, err)
	}
	return loc.String(), nil
}

// Post sends one WHIP request and returns the answer as a Refusal (whose
// Status may well be 201).
func Post(ctx context.Context, endpoint, token, contentType, body string) (*Refusal, error) {
	return Do(ctx, http.MethodPost, endpoint, token, contentType, body)
}

// Do sends a request with an optional bearer token and body.
func Do(ctx context.Context, method, endpoint, token, contentType, body string) (*Refusal, error) {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, bytes.NewBufferString(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return &Refusal{Status: res.StatusCode, Header: res.Header, Body: string(b), URL: res.Request.URL}, nil
}

// Pump sends synthetic media until ctx ends or Close: audio packets
// every 20 ms and the video frames frame(n) returns, 30 a second, each
// frame's packets as given (the last one marked).
func (p *Publisher) Pump(ctx context.Context, frame func(n int) [][]byte) {
	ctx, p.cancel = context.WithCancel(ctx)
	go func() {
		defer close(p.done)
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		var vseq, aseq uint16
		silence := []byte{0xf8, 0xff, 0xfe} // an Opus DTX frame
		for n := 0; ; n++ {
			pkts := frame(n)
			for i, payload := range pkts {
				p.Video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == len(pkts)-1, SequenceNumber: vseq, Timestamp: uint32(n * 3000)}, Payload: payload})
				vseq++
			}
			for k := 0; k < 2; k++ { // about 20 ms of audio per 33 ms, enough to flow
				p.Audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: uint32(aseq) * 960}, Payload: silence})
				aseq++
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// Delete ends the session as a program does (DELETE on its resource)
// and returns the server's status.
func (p *Publisher) Delete(ctx context.Context) (int, error) {
	res, err := Do(ctx, http.MethodDelete, p.Location, p.token, "", "")
	if err != nil {
		return 0, err
	}
	return res.Status, nil
}

// Close stops the media and the PeerConnection (without a DELETE).
func (p *Publisher) Close() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
	p.PC.Close()
}
