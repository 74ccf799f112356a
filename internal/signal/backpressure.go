package signal

import "time"

// What the server relays to a member (e2ee_message: chat, reactions and
// the like from every other member) waits in that member's outbox until
// its socket takes it. Each sender's budget bounds what one socket can
// relay, but many members, each within its own budget, could together
// fill a slow reader's outbox, and a full outbox closes the reader's
// socket as too slow. So a member whose outbox is congested holds back
// the senders of relayed messages, not itself: a sender that has just
// relayed to it is not read again until the outbox is back under the
// mark. A reader that takes nothing at all is still closed, by the write
// timeout (writeTimeout for one message), and resumes when it
// reconnects. Nothing is dropped, and the time a sender waits this way is
// credited to its own budget, so what piled up in its socket meanwhile
// does not count as flooding.
const (
	// relayHighWater is the outbox size, in bytes, above which a member is
	// congested: about a second of reading for a client on a 1 MB/s link.
	relayHighWater = 1 << 20
	// relayPoll is how often a waiting sender looks again.
	relayPoll = 10 * time.Millisecond
)

// congested says whether the session's outbox is over the high-water
// mark, in bytes or in messages.
func (s *session) congested() bool {
	return s.queued.Load() > relayHighWater || len(s.out) > outboxSize/2
}

// awaitRecipients holds the sender back until every congested recipient
// is under the mark again or has gone. It returns false if the sender's
// own session ended.
func (s *session) awaitRecipients(slow []*session) bool {
	if len(slow) == 0 {
		return true
	}
	began := time.Now()
	t := time.NewTicker(relayPoll)
	defer t.Stop()
	for _, r := range slow {
		for r.congested() && r.ctx.Err() == nil {
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
