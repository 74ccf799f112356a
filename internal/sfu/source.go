package sfu

import "github.com/pion/webrtc/v4"

// Source says what a published track carries.
type Source string

// The sources a participant may publish, one track each.
const (
	SourceMicrophone  Source = "microphone"
	SourceCamera      Source = "camera"
	SourceScreen      Source = "screen"
	SourceScreenAudio Source = "screen-audio"
)

// Valid reports whether s is one of the known sources.
func (s Source) Valid() bool {
	switch s {
	case SourceMicrophone, SourceCamera, SourceScreen, SourceScreenAudio:
		return true
	}
	return false
}

// Kind is the media kind a source's track must have.
func (s Source) Kind() webrtc.RTPCodecType {
	switch s {
	case SourceMicrophone, SourceScreenAudio:
		return webrtc.RTPCodecTypeAudio
	case SourceCamera, SourceScreen:
		return webrtc.RTPCodecTypeVideo
	}
	return 0
}

// streamSuffix groups a participant's tracks into media streams: camera
// with microphone (so a browser keeps them in lip sync), screen with its
// audio.
func (s Source) streamSuffix() string {
	if s == SourceScreen || s == SourceScreenAudio {
		return "screen"
	}
	return "camera"
}

// PublishedTrack is a client's statement of what one of its sending
// transceivers carries.
type PublishedTrack struct {
	Mid    string
	Source Source
}

// TrackInfo describes one track a subscriber receives, for the signalling
// layer to tell the client which participant and source a mid carries.
type TrackInfo struct {
	Mid         string
	Participant string
	Source      Source
	Kind        webrtc.RTPCodecType
}
