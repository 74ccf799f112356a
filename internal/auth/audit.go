package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

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
		before = math.MaxInt64
	}
	// Asked of the store by number, not computed from it: retention
	// deletes the oldest entries, so numbers do not start at 1.
	entries, err := s.store.AuditBefore(ctx, before, limit)
	if err != nil {
		return page, err
	}
	page.Entries = entries
	return page, nil
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
	e, err := s.ActionEntry(by, action, kind, id, reason, details)
	if err != nil {
		return audit.Entry{}, err
	}
	return s.store.AppendAudit(ctx, e)
}

// ActionEntry checks an administrative action as RecordAction does (an
// admin or the operator, a reason required) and returns its entry, not
// yet sealed, for a store that appends it in the same transaction as the
// change it records (an administrator's lock of a meeting).
func (s *Service) ActionEntry(by Actor, action audit.Action, kind audit.SubjectKind, id, reason string, details map[string]string) (audit.Entry, error) {
	if by.admin != nil && by.admin.Role != RoleAdmin {
		return audit.Entry{}, ErrForbidden
	}
	reason, err := checkReason(reason, false)
	if err != nil {
		return audit.Entry{}, err
	}
	e := by.entry()
	e.Time, e.Action, e.SubjectKind, e.SubjectID, e.Reason, e.Details = s.now(), action, kind, id, reason, details
	return e, nil
}

// TransparencyReport counts the audit log by action and month, from the
// verified chain: the public transparency report.
func (s *Service) TransparencyReport(ctx context.Context) (audit.Report, error) {
	return audit.BuildReport(ctx, s.store)
}

// Export is what an account's own data export holds from the account
// service (the meetings come from the meeting store).
type Export struct {
	User              User
	Sessions          []Session
	RecoveryCodesLeft int
	Audit             []audit.Entry
}

// ExportMine gathers what Kaigi holds about u's account and records that
// an export was made: once per account and UTC day (the transparency
// report counts them). The export is a GET that any site can make the
// person's browser request, so recording each one would let anyone grow
// the audit log without bound; refusing repeated exports instead would
// let that site use up the person's own.
func (s *Service) ExportMine(ctx context.Context, u User) (Export, error) {
	u, err := s.store.UserByID(ctx, u.ID)
	if err != nil {
		return Export{}, err
	}
	out := Export{User: u}
	if out.Sessions, err = s.store.UserSessions(ctx, u.ID); err != nil {
		return Export{}, err
	}
	if out.RecoveryCodesLeft, err = s.store.RecoveryCodesLeft(ctx, u.ID); err != nil {
		return Export{}, err
	}
	if out.Audit, err = s.store.AuditAboutUser(ctx, u.ID, MaxAuditPage); err != nil {
		return Export{}, err
	}
	now := s.now().UTC()
	_, _, err = s.store.AppendAuditOnce(ctx, audit.Entry{Time: now, ActorKind: audit.ActorUser, ActorID: u.ID,
		Action: audit.UserExported, SubjectKind: audit.SubjectUser, SubjectID: u.ID}, now.Truncate(24*time.Hour))
	return out, err
}

// RecordLegalRequest records, as the operator, a legal request received:
// its kind and outcome (audit.LegalKinds, audit.LegalOutcomes) are
// counted in the transparency report; the note stays in the audit log for
// administrators.
func (s *Service) RecordLegalRequest(ctx context.Context, kind, outcome, note string) (audit.Entry, error) {
	if !slices.Contains(audit.LegalKinds, kind) {
		return audit.Entry{}, fmt.Errorf("kind must be one of %v", audit.LegalKinds)
	}
	if !slices.Contains(audit.LegalOutcomes, outcome) {
		return audit.Entry{}, fmt.Errorf("outcome must be one of %v", audit.LegalOutcomes)
	}
	return s.RecordAction(ctx, ByOperator, audit.LegalRequest, audit.SubjectServer, "", note, map[string]string{"kind": kind, "outcome": outcome})
}

// OperatorListUsers lists every account for the operator's command line,
// recording the read (operator.read) before the list is returned: the
// operator's reads of people's data are accounted for like any
// administrative action.
func (s *Service) OperatorListUsers(ctx context.Context, why string) ([]User, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.RecordAction(ctx, ByOperator, audit.OperatorRead, audit.SubjectServer, "", why,
		map[string]string{"what": "accounts", "records": fmt.Sprint(len(users))}); err != nil {
		return nil, err
	}
	return users, nil
}

// RecordOperatorRead records that the operator read the audit log (or
// other records the store keeps) on the command line.
func (s *Service) RecordOperatorRead(ctx context.Context, what string, records int, why string) error {
	_, err := s.RecordAction(ctx, ByOperator, audit.OperatorRead, audit.SubjectServer, "", why,
		map[string]string{"what": what, "records": fmt.Sprint(records)})
	return err
}
