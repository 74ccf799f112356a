package wire

// Version is the protocol version of docs/protocol.md that this package
// describes (hello's and welcome's v).
const Version = 1

// Message types sent by clients (docs/protocol.md, "Client → server").
const (
	TypeHello         = "hello"
	TypeReady         = "ready"
	TypeMedia         = "media"
	TypeVideoSize     = "video_size"
	TypePing          = "ping"
	TypeLeave         = "leave"
	TypeAdmit         = "admit"
	TypeDeny          = "deny"
	TypeLock          = "lock"
	TypeRemove        = "remove"
	TypeMute          = "mute"
	TypeMuteAll       = "mute_all"
	TypeStopVideo     = "stop_video"
	TypeRename        = "rename"
	TypeSetRole       = "set_role"
	TypeEnd           = "end"
	TypeBreakoutOpen  = "breakout_open"
	TypeBreakoutMove  = "breakout_move"
	TypeBreakoutClose = "breakout_close"
)

// Message types sent by the server (docs/protocol.md, "Server → client").
const (
	TypeWelcome            = "welcome"
	TypeWaiting            = "waiting"
	TypeRefused            = "refused"
	TypeBreakout           = "breakout"
	TypeBreakoutReturn     = "breakout_return"
	TypeBreakouts          = "breakouts"
	TypeAdminNotice        = "admin_notice"
	TypeDraining           = "draining"
	TypeParticipantJoined  = "participant_joined"
	TypeParticipantUpdated = "participant_updated"
	TypeParticipantLeft    = "participant_left"
	TypeWaitingRoom        = "waiting_room"
	TypeMediaStopped       = "media_stopped"
	TypeRenegotiate        = "renegotiate"
	TypeICERestart         = "ice_restart"
	TypePong               = "pong"
	TypeError              = "error"
	TypeClosed             = "closed"
	TypeE2EEJob            = "e2ee_job"
	TypeE2EECommitOK       = "e2ee_commit_ok"
	TypeE2EEWelcome        = "e2ee_welcome"
)

// Message types both sides send, in shapes of their own (see each type).
const (
	TypeOffer             = "offer"
	TypeAnswer            = "answer"
	TypeCandidate         = "candidate"
	TypeSettings          = "settings"
	TypeBreakoutBroadcast = "breakout_broadcast"
	TypeE2EECommit        = "e2ee_commit"
	TypeE2EEMessage       = "e2ee_message"
)

// Codes of error (a problem with one client message) and refused (a hello
// that was not let in). They share one namespace: docs/protocol.md lists
// with each message the codes it may get.
const (
	// General codes.
	CodeBadMessage    = "bad_message"
	CodeUnknownType   = "unknown_type"
	CodeNotJoined     = "not_joined"
	CodeAlreadyJoined = "already_joined"
	CodeForbidden     = "forbidden"
	CodeRateLimited   = "rate_limited"
	CodeInternal      = "internal"

	// Negotiation.
	CodeBadSDP           = "bad_sdp"
	CodeBadTracks        = "bad_tracks"
	CodeBadCandidate     = "bad_candidate"
	CodeUnexpectedAnswer = "unexpected_answer"
	CodeOutOfTurn        = "out_of_turn"

	// Refusals of hello.
	CodeMeetingNotFound = "meeting_not_found"
	CodeWrongPasscode   = "wrong_passcode"
	CodeMeetingLocked   = "meeting_locked"
	CodeBanned          = "banned"
	CodeSignInRequired  = "sign_in_required"
	CodeDenied          = "denied"
	CodeE2EERequired    = "e2ee_required"
	// CodeBadKeyPackage refuses a hello whose KeyPackage is malformed or
	// not one a Kaigi client makes (e2ee.CheckKeyPackage).
	CodeBadKeyPackage      = "bad_key_package"
	CodeMeetingFull        = "meeting_full"
	CodeWaitingRoomFull    = "waiting_room_full"
	CodeBadName            = "bad_name"
	CodeUnsupportedVersion = "unsupported_version"
	CodeBadRequest         = "bad_request"
	CodeCountryNotAllowed  = "country_not_allowed"
	CodeRegionNotAllowed   = "region_not_allowed"
	// CodeServerDraining refuses a new joiner while the server drains
	// before a stop; clients retry as after a lost connection.
	CodeServerDraining = "server_draining"
	// CodeBadToken refuses a hello with a move's token that is not (or no
	// longer) valid, CodeBreakoutClosed one for a breakout room that has
	// closed.
	CodeBadToken       = "bad_token"
	CodeBreakoutClosed = "breakout_closed"

	// Host controls and breakout rooms.
	CodeNotWaiting        = "not_waiting"
	CodeNoSuchParticipant = "no_such_participant"
	CodeBadSettings       = "bad_settings"
	CodeBadRole           = "bad_role"
	CodeBadBreakout       = "bad_breakout"

	// End-to-end encryption.
	CodeE2EEStale        = "e2ee_stale"
	CodeE2EENotCommitter = "e2ee_not_committer"
	CodeE2EENotMember    = "e2ee_not_member"
	CodeE2EEBad          = "e2ee_bad"
	CodeE2EETooSoon      = "e2ee_too_soon"
	CodeE2EEStillPresent = "e2ee_still_present"
	// CodeE2EEKeyPackage tells a joiner that the member adding them could
	// not use their KeyPackage: reconnect with a fresh one.
	CodeE2EEKeyPackage = "e2ee_key_package"
)

// Reasons of closed: why the server ends a participant's session.
const (
	ClosedReplaced         = "replaced"
	ClosedRemoved          = "removed"
	ClosedEnded            = "ended"
	ClosedBreakoutEnded    = "breakout_ended"
	ClosedShutdown         = "shutdown"
	ClosedFlooding         = "flooding"
	ClosedSignedOut        = "signed_out"
	ClosedAccountSuspended = "account_suspended"
	ClosedAccountDeleted   = "account_deleted"
)

// Reasons of participant_left.
const (
	LeftLeft         = "left"
	LeftDisconnected = "disconnected"
	LeftRemoved      = "removed"
)

// Participant.Connection values.
const (
	ConnectionConnected    = "connected"
	ConnectionReconnecting = "reconnecting"
)

// Actions of admin_notice.
const (
	NoticeLocked   = "locked"
	NoticeUnlocked = "unlocked"
)
