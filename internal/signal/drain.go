package signal

import (
	"context"
	"time"
)

// A graceful stop: Drain, then Shutdown. While draining nobody new joins
// (a hello that is not a resume is refused with server_draining, which
// clients retry like a lost connection), everyone is told (draining, with
// the seconds left), and meetings go on until they empty or the bound
// passes. The people still in them then get closed/shutdown and resume
// once the server is back (internal/live/kept.go).

// Drain stops new joins, tells every client, and returns once no socket
// is open (everyone left; someone reconnecting would not be back before
// the stop anyway), or within has passed, or ctx is done.
func (s *Server) Drain(ctx context.Context, within time.Duration) {
	s.hub.Drain(time.Now().Add(within))
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	msg := s.hub.DrainingMessage()
	for _, sess := range sessions {
		if sess.joined.Load() {
			sess.send(msg)
		}
	}
	bound := time.NewTimer(within)
	defer bound.Stop()
	for {
		s.mu.Lock()
		empty := len(s.sessions) == 0
		s.mu.Unlock()
		if empty {
			return
		}
		select {
		case <-s.socketGone:
		case <-bound.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
