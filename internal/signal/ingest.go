package signal

import (
	"context"

	"github.com/kaigi-meet/kaigi/internal/live"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/sfu"
)

// Ingest puts a media source (a WHIP client, internal/whip) into a
// meeting's live room on this node (live.Hub.Ingest).
func (s *Server) Ingest(ctx context.Context, id meeting.ID, src live.Source) (*live.Room, meeting.ParticipantID, *sfu.Peer, error) {
	return s.hub.Ingest(ctx, id, src)
}
