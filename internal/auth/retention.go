package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// Retention is how long the organisation keeps old records, in whole
// days; 0 keeps them forever. A job (internal/server, and `kaigi admin
// retention run`) deletes what is past its limit.
type Retention struct {
	// MeetingDays: an instant or scheduled meeting is deleted this many
	// days after it was last used (someone asked to join it) or, for a
	// scheduled one, after its planned end, whichever is later. Personal
	// rooms are kept as long as their account, and a meeting someone is
	// in is never deleted.
	MeetingDays int `json:"meetingDays"`
	// AuditDays: audit entries older than this are deleted, never fewer
	// days than the server's legal minimum (AuditMinimumDays); the chain
	// stays verifiable through an audit.pruned entry.
	AuditDays int `json:"auditDays"`
	// ExpiredSessionDays: a signed-in browser's record is deleted this
	// many days after its session ended (expired or unused too long).
	ExpiredSessionDays int `json:"expiredSessionDays"`
	// AuditMinimumDays is the server's legal minimum for audit entries
	// (configuration retention.audit_minimum_days). Read only: the
	// server fills it in and ignores it when saving.
	AuditMinimumDays int `json:"auditMinimumDays"`
}

// Retention limits.
const (
	// DefaultAuditMinimumDays is the legal minimum for audit entries
	// when the configuration sets none.
	DefaultAuditMinimumDays = 365
	// MaxRetentionDays is the longest limit that can be set (100 years);
	// longer is "keep forever" (0).
	MaxRetentionDays = 36500
)

// DefaultRetention is a fresh organisation's: meetings a year after last
// use, audit entries two years, expired sessions' records 30 days.
func DefaultRetention() Retention {
	return Retention{MeetingDays: 365, AuditDays: 730, ExpiredSessionDays: 30}
}

// RetentionError is a retention setting refused, with the words to show.
type RetentionError struct{ Message string }

func (e *RetentionError) Error() string { return "retention: " + e.Message }

// Validate checks the limits against the server's legal minimum for
// audit entries (floorDays).
func (r Retention) Validate(floorDays int) error {
	for _, f := range []struct {
		name string
		days int
	}{{"Meeting records", r.MeetingDays}, {"Audit entries", r.AuditDays}, {"Records of ended sessions", r.ExpiredSessionDays}} {
		if f.days < 0 || f.days > MaxRetentionDays {
			return &RetentionError{fmt.Sprintf("%s: give a number of days from 1 to %d, or 0 to keep them forever.", f.name, MaxRetentionDays)}
		}
	}
	if r.AuditDays != 0 && r.AuditDays < floorDays {
		return &RetentionError{fmt.Sprintf("Audit entries must be kept at least %d days: that is the legal minimum this server is set to (retention.audit_minimum_days), which no organisation setting can undercut.", floorDays)}
	}
	return nil
}

// RetentionCutoffs are the times before which records go; zero keeps
// them forever.
type RetentionCutoffs struct {
	Meetings, Sessions, Audit time.Time
	// AuditKeepDays is the audit limit applied (the organisation's, or
	// the legal minimum if that is longer).
	AuditKeepDays int
}

// Cutoffs are the limits as times at now. They count from midnight UTC,
// so the job deletes a day's worth once a day rather than a little each
// run, and a record is kept at least its limit in full days.
func (r Retention) Cutoffs(now time.Time, floorDays int) RetentionCutoffs {
	day := now.UTC().Truncate(24 * time.Hour)
	back := func(days int) time.Time {
		if days <= 0 {
			return time.Time{}
		}
		return day.AddDate(0, 0, -days)
	}
	c := RetentionCutoffs{Meetings: back(r.MeetingDays), Sessions: back(r.ExpiredSessionDays)}
	if r.AuditDays > 0 {
		c.AuditKeepDays = max(r.AuditDays, floorDays)
		c.Audit = back(c.AuditKeepDays)
	}
	return c
}

// RetentionStore is what the retention job deletes through (internal/
// store). Each call deletes at most limit records in one transaction
// and returns how many it deleted.
type RetentionStore interface {
	// DeleteOldMeetings deletes instant and scheduled meetings last used
	// (or, scheduled, ending) before cut, never a personal room, one
	// whose participants the server keeps (live), or one in skip.
	DeleteOldMeetings(ctx context.Context, cut time.Time, skip []string, limit int) (int64, error)
	// DeleteEndedSessions deletes sessions that ended before cut: past
	// their expiry, or unused for idle.
	DeleteEndedSessions(ctx context.Context, cut time.Time, idle time.Duration, limit int) (int64, error)
	// PruneAudit deletes the oldest audit entries older than before, at
	// most limit, after appending in the same transaction the anchor
	// (audit.AuditPruned) anchor makes for the last one deleted.
	PruneAudit(ctx context.Context, before time.Time, limit int, anchor func(last audit.Entry, count int64) audit.Entry) (int64, error)
	// PruneUsage deletes the usage figures of the UTC days before before.
	PruneUsage(ctx context.Context, before time.Time) (int64, error)
}

// Batches: each transaction deletes at most this many, so that the
// database is never held for long.
const (
	retentionMeetingBatch = 500
	retentionSessionBatch = 1000
	retentionAuditBatch   = 5000
)

// RetentionRun says who runs the job and what it must not touch.
type RetentionRun struct {
	// ByOperator: the operator runs it by hand (recorded even when it
	// deletes nothing); else it is the server's own job (recorded when
	// it deleted something).
	ByOperator bool
	// Live, if set, lists the meetings in progress, which are kept.
	Live func() []string
}

// RetentionResult is what a run deleted, by kind: counts, never what.
type RetentionResult struct {
	Meetings, Sessions, AuditEntries int64
	// UsageDays are days of usage figures deleted with the meetings'
	// limit: on a quiet server a day's totals may describe one meeting.
	UsageDays int64
	// Recordings deleted with the meetings' limit, counted from their
	// start (RecordingRetention).
	Recordings int64
	// AuditRefused says why no audit entry was deleted although some
	// are past the limit (the chain does not verify: deleting would
	// destroy the evidence).
	AuditRefused string
	// Entry is the retention.applied entry recorded (Seq 0 if none).
	Entry audit.Entry
}

// Deleted is the number of records deleted.
func (r RetentionResult) Deleted() int64 {
	return r.Meetings + r.Sessions + r.AuditEntries + r.UsageDays + r.Recordings
}

// RecordingRetention is what a RetentionStore that keeps recordings
// (internal/store, migration 0013) also does: delete up to limit
// recordings that started before cut, with their chunks and readers.
type RecordingRetention interface {
	DeleteOldRecordings(ctx context.Context, cut time.Time, limit int) (int64, error)
}

// ApplyRetention deletes what is past the organisation's limits, in
// bounded batches, and records the run in the audit log with its counts.
func (s *Service) ApplyRetention(ctx context.Context, rs RetentionStore, run RetentionRun) (RetentionResult, error) {
	var res RetentionResult
	org, err := s.store.Org(ctx)
	if err != nil {
		return res, err
	}
	r := DefaultRetention()
	if org.Retention != nil {
		r = *org.Retention
	}
	now := s.now()
	cut := r.Cutoffs(now, s.auditFloor)
	actor := audit.ActorSystem
	if run.ByOperator {
		actor = audit.ActorOperator
	}
	batches := func(n *int64, limit int, del func() (int64, error)) error {
		for ctx.Err() == nil {
			d, err := del()
			*n += d
			if err != nil || d < int64(limit) {
				return err
			}
		}
		return ctx.Err()
	}
	if !cut.Meetings.IsZero() {
		var live []string
		if run.Live != nil {
			live = run.Live()
		}
		if err := batches(&res.Meetings, retentionMeetingBatch, func() (int64, error) {
			return rs.DeleteOldMeetings(ctx, cut.Meetings, live, retentionMeetingBatch)
		}); err != nil {
			return res, fmt.Errorf("retention: meetings: %w", err)
		}
		if res.UsageDays, err = rs.PruneUsage(ctx, cut.Meetings); err != nil {
			return res, fmt.Errorf("retention: usage figures: %w", err)
		}
		if rr, ok := rs.(RecordingRetention); ok {
			if err := batches(&res.Recordings, retentionMeetingBatch, func() (int64, error) {
				return rr.DeleteOldRecordings(ctx, cut.Meetings, retentionMeetingBatch)
			}); err != nil {
				return res, fmt.Errorf("retention: recordings: %w", err)
			}
		}
	}
	if !cut.Sessions.IsZero() {
		if err := batches(&res.Sessions, retentionSessionBatch, func() (int64, error) {
			return rs.DeleteEndedSessions(ctx, cut.Sessions, s.idle, retentionSessionBatch)
		}); err != nil {
			return res, fmt.Errorf("retention: sessions: %w", err)
		}
	}
	if !cut.Audit.IsZero() {
		if err := s.pruneAudit(ctx, rs, cut, actor, &res); err != nil {
			return res, fmt.Errorf("retention: audit log: %w", err)
		}
	}
	if res.Deleted() > 0 || run.ByOperator {
		details := map[string]string{
			"meetings": strconv.FormatInt(res.Meetings, 10), "sessions": strconv.FormatInt(res.Sessions, 10),
			"auditEntries": strconv.FormatInt(res.AuditEntries, 10), "usageDays": strconv.FormatInt(res.UsageDays, 10),
			"recordings":  strconv.FormatInt(res.Recordings, 10),
			"meetingDays": strconv.Itoa(r.MeetingDays), "expiredSessionDays": strconv.Itoa(r.ExpiredSessionDays),
			"auditDays": strconv.Itoa(cut.AuditKeepDays),
		}
		if res.AuditRefused != "" {
			details["auditRefused"] = "the chain does not verify"
		}
		res.Entry, err = s.store.AppendAudit(ctx, audit.Entry{Time: s.now(), ActorKind: actor, Action: audit.RetentionApplied,
			SubjectKind: audit.SubjectServer, Details: details})
		if err != nil {
			return res, err
		}
	}
	if res.Deleted() > 0 {
		s.log.Info("retention: deleted what was past the organisation's limits", "meetings", res.Meetings, "sessions", res.Sessions,
			"audit_entries", res.AuditEntries, "usage_days", res.UsageDays, "by", actor)
	}
	return res, nil
}

// pruneAudit deletes audit entries past the limit, only from a chain that
// verifies: deleting entries of a broken chain would destroy the evidence
// of what broke it.
func (s *Service) pruneAudit(ctx context.Context, rs RetentionStore, cut RetentionCutoffs, actor audit.ActorKind, res *RetentionResult) error {
	oldest, err := s.store.AuditEntries(ctx, 0, 1)
	if err != nil {
		return err
	}
	if len(oldest) == 0 || !oldest[0].Time.Before(cut.Audit) {
		return nil
	}
	if _, err := audit.VerifyAll(ctx, s.store, nil); err != nil {
		var broken *audit.BrokenError
		if !errors.As(err, &broken) {
			return err
		}
		res.AuditRefused = broken.Error()
		s.log.Error("retention: audit entries past the limit are kept: the chain does not verify, and deleting them would destroy evidence",
			"entry", broken.Seq, "why", broken.Reason)
		return nil
	}
	for ctx.Err() == nil {
		n, err := rs.PruneAudit(ctx, cut.Audit, retentionAuditBatch, func(last audit.Entry, count int64) audit.Entry {
			return audit.NewAnchor(s.now(), actor, last, count, cut.Audit, cut.AuditKeepDays)
		})
		res.AuditEntries += n
		if err != nil || n < retentionAuditBatch {
			return err
		}
	}
	return ctx.Err()
}

// retentionFor is the retention an organisation saves: the current one
// when none is given, checked against the legal minimum.
func (s *Service) retentionFor(given, current *Retention) (*Retention, error) {
	if given == nil {
		given = current
	}
	if given == nil {
		d := DefaultRetention()
		given = &d
	}
	r := *given
	r.AuditMinimumDays = 0 // the server's, filled in when read
	if err := r.Validate(s.auditFloor); err != nil {
		return nil, err
	}
	return &r, nil
}

// withAuditFloor fills in the server's legal minimum for whoever reads
// the organisation's settings.
func (s *Service) withAuditFloor(o Org) Org {
	r := DefaultRetention()
	if o.Retention != nil {
		r = *o.Retention
	}
	r.AuditMinimumDays = s.auditFloor
	o.Retention = &r
	return o
}
