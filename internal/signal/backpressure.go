package signal

import (
	"time"

	"github.com/kaigi-meet/kaigi/internal/live"
)

// What the server relays to a member (e2ee_message: chat, reactions and
// the like from every other member) waits in that member's outbox until
// its socket takes it. Each sender's budget bounds what one socket can
// relay, but many members, each within its own budget, could together
// fill a slow reader's outbox, and a full outbox closes the reader's
// socket as too slow. So a member whose outbox is congested holds back
// the senders of relayed messages, not itself: a sender that has just
// relayed to it is not read again until the outbox is back under the
// mark. Nothing is dropped, and the time a sender waits this way is
// credited to its own budget, so what piled up in its socket meanwhile
// does not count as flooding.
//
// A held sender's socket is not read at all, so the hold is short: a
// member whose outbox has stayed over the mark for relayPatience cannot
// keep up with what the meeting relays and is closed as too slow (it
// resumes when it reconnects), which releases its senders. A reader on
// a link of about 1 MB/s keeps up with 16 members relaying at their
// budget's rate; one that takes nothing is closed after relayPatience,
// or by the write timeout, whichever comes first.
const (
	// relayHighWater is the outbox size, in bytes, above which a member is
	// congested: about a second of reading for a client on a 1 MB/s link.
	relayHighWater = 1 << 20
	// relayPatience is how long a member's outbox may stay over the mark
	// without a break; it also bounds how long one relayed message holds
	// its sender, well inside the socket's ping timeout.
	relayPatience = 5 * time.Second
	// relayPoll is how often a waiting sender looks again.
	relayPoll = 10 * time.Millisecond
)

// congested says whether the session's outbox is over the high-water
// mark, in bytes or in messages.
func (s *session) congested() bool {
	return s.queued.Load() > relayHighWater || s.out.len() > outboxSize/2
}

// noteBacklog keeps congestedAt, the time the outbox went over the mark
// (0 while it is under): called by whoever changes the outbox.
func (s *session) noteBacklog(now time.Time) {
	if !s.congested() {
		s.congestedAt.Store(0)
		return
	}
	s.congestedAt.CompareAndSwap(0, now.UnixNano())
}

// overPatience says whether the outbox has been over the mark without a
// break for longer than relayPatience.
func (s *session) overPatience(now time.Time) bool {
	at := s.congestedAt.Load()
	return at != 0 && s.congested() && now.Sub(time.Unix(0, at)) > relayPatience
}

// awaitRecipients holds the sender back until every congested recipient
// is under the mark again, has gone, or has been closed for staying over
// it too long. It returns false if the sender's own session ended. Only
// local sockets are waited for: a connection of another kind (a
// participant on another node) holds back its own way.
func (s *session) awaitRecipients(slow []live.Conn) bool {
	if len(slow) == 0 {
		return true
	}
	began := time.Now()
	t := time.NewTicker(relayPoll)
	defer t.Stop()
	for _, c := range slow {
		r, ok := c.(*session)
		if !ok {
			continue
		}
		for r.congested() && r.ctx.Err() == nil {
			if r.overPatience(time.Now()) {
				r.log.Warn("client too slow for what the meeting relays; closing its socket", "participant", r.pid)
				r.cancel()
				break
			}
			select {
			case <-t.C:
			case <-s.ctx.Done():
				return false
			}
		}
	}
	s.budget.credit(time.Since(began))
	return true
}
