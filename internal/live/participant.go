package live

import (
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/wire"
)

// toParticipantJSON is p as rosters show it.
func toParticipantJSON(p meeting.Participant) wire.Participant {
	conn := wire.ConnectionConnected
	if !p.Connected {
		conn = wire.ConnectionReconnecting
	}
	return wire.Participant{
		ID:          string(p.ID),
		Name:        p.Name,
		Role:        string(p.Role),
		SignedIn:    p.SignedIn(),
		Account:     p.Identity.UserID,
		JoinedAt:    p.JoinedAt.UTC().Format(time.RFC3339),
		Audio:       p.Media.Audio,
		Video:       p.Media.Video,
		Screen:      p.Media.Screen,
		Connection:  conn,
		MutedByHost: p.MutedByHost,
		Ingest:      p.Ingest,
		Viewer:      p.Viewer,
	}
}
