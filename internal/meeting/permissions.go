package meeting

// Action is something a participant may try to do in a meeting.
type Action string

// The actions the permission model decides.
const (
	// Things participants do for themselves.
	ActShareScreen Action = "share_screen"
	ActUnmuteSelf  Action = "unmute_self" // after a host muted them
	ActChat        Action = "chat"
	ActRenameSelf  Action = "rename_self"

	// Moderation.
	ActAdmit          Action = "admit" // and deny, from the waiting room
	ActLock           Action = "lock"
	ActRemove         Action = "remove"
	ActMuteOthers     Action = "mute_others"
	ActStopVideo      Action = "stop_video" // and screen share, of others
	ActRenameOthers   Action = "rename_others"
	ActChangeSettings Action = "change_settings"
	ActEndForAll      Action = "end_for_all"
	ActSetRoles       Action = "set_roles" // make or unmake co-hosts
	ActBreakouts      Action = "breakouts" // open, move people between, close breakout rooms
)

// Allowed decides whether someone with role may do act under settings.
// Moderation belongs to hosts and co-hosts, except that only the host may
// end the meeting for everyone or hand out co-host rights.
func Allowed(role Role, act Action, s Settings) bool {
	if role != RoleHost && role != RoleCoHost && role != RoleParticipant {
		return false
	}
	host := role == RoleHost
	moderator := host || role == RoleCoHost
	everyone := func(w Who) bool { return moderator || w == WhoEveryone }
	switch act {
	case ActShareScreen:
		return everyone(s.ScreenShare)
	case ActUnmuteSelf:
		return everyone(s.Unmute)
	case ActChat:
		return everyone(s.Chat)
	case ActRenameSelf:
		return everyone(s.Rename)
	case ActAdmit, ActLock, ActRemove, ActMuteOthers, ActStopVideo, ActRenameOthers, ActChangeSettings, ActBreakouts:
		return moderator
	case ActEndForAll, ActSetRoles:
		return host
	}
	return false
}
