package auth

import (
	"context"
	"errors"
	"slices"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// AuditPage is what an admin sees of the audit log: whether the chain
// verifies, its head, and a page of entries, newest first.
type AuditPage struct {
	Head     audit.Head
	Verified bool
	// Broken names the first entry that does not fit the chain, when
	// Verified is false.
	Broken  *audit.BrokenError
	Entries []audit.Entry
}

// MaxAuditPage is the most entries one page returns.
const MaxAuditPage = 200

// AuditLog verifies the whole chain and returns the limit entries before
// seq before (0: the newest), newest first; admins only.
func (s *Service) AuditLog(ctx context.Context, by User, before int64, limit int) (AuditPage, error) {
	if by.Role != RoleAdmin {
		return AuditPage{}, ErrForbidden
	}
	if limit <= 0 || limit > MaxAuditPage {
		limit = MaxAuditPage
	}
	var page AuditPage
	head, err := audit.VerifyAll(ctx, s.store, nil)
	switch {
	case errors.As(err, &page.Broken):
		// Still show what is there, up to the newest entry stored.
	case err != nil:
		return page, err
	default:
		page.Head, page.Verified = head, true
	}
	if before <= 0 {
		last, err := s.lastAuditSeq(ctx, head)
		if err != nil {
			return page, err
		}
		before = last + 1
	}
	after := max(before-1-int64(limit), 0)
	entries, err := s.store.AuditEntries(ctx, after, int(before-1-after))
	if err != nil {
		return page, err
	}
	slices.Reverse(entries)
	page.Entries = entries
	return page, nil
}

// lastAuditSeq is the newest entry's number: the verified head's, or,
// when the chain is broken, found by reading on to the end.
func (s *Service) lastAuditSeq(ctx context.Context, head audit.Head) (int64, error) {
	last := head.Seq
	for {
		more, err := s.store.AuditEntries(ctx, last, 1000)
		if err != nil {
			return 0, err
		}
		if len(more) == 0 {
			return last, nil
		}
		last = more[len(more)-1].Seq
	}
}

// AuditAboutMe returns the newest administrative actions on u's own
// account and meetings (up to limit), newest first: what the account
// page shows.
func (s *Service) AuditAboutMe(ctx context.Context, u User, limit int) ([]audit.Entry, error) {
	if limit <= 0 || limit > MaxAuditPage {
		limit = MaxAuditPage
	}
	return s.store.AuditAboutUser(ctx, u.ID, limit)
}

// RecordAction records an administrative action that changes nothing the
// store keeps (ending a live meeting, a legal request the operator
// records): by must be an admin or the operator, and reason is required
// (the affected people are shown it). The entry is written before the
// caller acts, so no action goes unrecorded.
func (s *Service) RecordAction(ctx context.Context, by Actor, action audit.Action, kind audit.SubjectKind, id, reason string, details map[string]string) (audit.Entry, error) {
	if by.admin != nil && by.admin.Role != RoleAdmin {
		return audit.Entry{}, ErrForbidden
	}
	reason, err := checkReason(reason, false)
	if err != nil {
		return audit.Entry{}, err
	}
	e := by.entry()
	e.Time, e.Action, e.SubjectKind, e.SubjectID, e.Reason, e.Details = s.now(), action, kind, id, reason, details
	return s.store.AppendAudit(ctx, e)
}
