// Package whip takes media into a meeting from streaming programs (OBS,
// GStreamer's whipclientsink) by WHIP, the WebRTC-HTTP Ingestion
// Protocol (RFC 9725), and lets programs watch one by WHEP.
//
// A meeting's host makes an ingest token (internal/httpapi/ingest.go;
// only its SHA-256 is stored). The program POSTs an SDP offer to
// /whip/{meetingID} with the token as "Authorization: Bearer", and gets
// 201 Created with the SDP answer (every ICE candidate in it: the server
// trickles none) and a Location, the session's resource; a DELETE of
// that resource ends the session. PATCH (trickle ICE, ICE restarts) is
// not supported and answers 405, as RFC 9725 section 4.3.1 asks.
//
// The source enters the meeting's live room (internal/live, ingest.go)
// as a participant of its own kind, publishing through the SFU at most
// one Opus audio and one VP8 video track and receiving nothing. It
// cannot join the meeting's MLS group, so its media is not end-to-end
// encrypted: every roster marks it so, and an end-to-end encrypted
// meeting takes it only if its host allowed sources outside encryption
// (meeting.Settings.Ingest).
//
// The same handler serves WHEP egress (draft-ietf-wish-whep, whep.go):
// a program watches the meeting at /whep/{meetingID} with an egress
// token (stored with ingest tokens, kind "whep"), under the same rules
// (bearer token, one session per token, recheck, 307, no PATCH, the
// meeting's policy, marked in the roster). It gets one audio and one
// video track, the active speaker's (sfu.Viewer).
//
// Everything is bounded at the door: failed tokens per address, the
// offer's size, media sections and codecs, and one session per token at
// a time. The token is never logged.
package whip
