package whip

import "errors"

// Sentinel errors of an offer that cannot be taken, mapped to 400
// answers with the sentence a program's log shows.
var (
	// ErrBadOffer: the body is not an SDP offer this server can take.
	ErrBadOffer = errors.New("bad offer")
	// ErrUnsupportedCodec: a media section offers no codec the SFU
	// forwards (Opus for audio, VP8 for video).
	ErrUnsupportedCodec = errors.New("unsupported codec")
)
