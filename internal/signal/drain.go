package signal

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/kaigi-meet/kaigi/internal/wire"
)

// A graceful stop: Drain, then Shutdown. While draining nobody new joins
// (a hello that is not a resume is refused with server_draining, which
// clients retry like a lost connection), everyone is told (draining, with
// the seconds left), and meetings go on until they empty or the bound
// passes. The people still in them then get closed/shutdown and resume
// once the server is back (kept.go).

var errDraining = errors.New("server draining")

// Drain stops new joins, tells every client, and returns once no socket
// is open (everyone left; someone reconnecting would not be back before
// the stop anyway), or within has passed, or ctx is done.
func (s *Server) Drain(ctx context.Context, within time.Duration) {
	s.mu.Lock()
	s.draining = true
	s.drainUntil = time.Now().Add(within)
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	msg := s.drainingMsg()
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

// drainingMsg is what a client is told while the server drains.
func (s *Server) drainingMsg() wire.Draining {
	left := time.Until(s.drainDeadline())
	return wire.Draining{Type: wire.TypeDraining, Seconds: int(math.Ceil(max(left, 0).Seconds()))}
}

func (s *Server) drainDeadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drainUntil
}

// isDraining reports whether the server is draining.
func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}
