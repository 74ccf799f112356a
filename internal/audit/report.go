package audit

import (
	"context"
	"errors"
	"slices"
	"time"
)

// LegalRequest is an entry's action when the operator records a legal
// request (`kaigi admin legal-request`): its details say of what kind and
// what came of it, and the transparency report counts them by both.
const LegalRequest Action = "legal.request"

// UserExported: a person downloaded everything Kaigi holds about them.
const UserExported Action = "user.exported"

// OperatorRead: the server's operator read people's data or the audit log
// on the command line (details: what, and how many records).
const OperatorRead Action = "operator.read"

// LegalKinds and LegalOutcomes are the values a legal request's details
// may take (details "kind" and "outcome").
var (
	LegalKinds    = []string{"user_data", "meeting_data", "suspension", "takedown", "interception", "other"}
	LegalOutcomes = []string{"complied", "partly_complied", "refused", "pending"}
)

// Published are the actions the transparency report counts, each with
// the words it is published under, in the order it shows them. Every
// action Kaigi records is here: there are no hidden categories (a test
// checks that each Action constant is listed).
var Published = []struct {
	Action      Action
	Description string
}{
	{MeetingEnded, "Meetings ended by an administrator who did not host them"},
	{MeetingLocked, "Meetings locked by an administrator who did not host them"},
	{MeetingMoved, "Live meetings moved to another server by an administrator"},
	{MeetingUnlocked, "Meetings unlocked by an administrator who did not host them"},
	{UserSuspended, "Accounts suspended by an administrator or the operator"},
	{UserReinstated, "Suspended accounts reinstated"},
	{UserDeleted, "Accounts deleted (by an administrator, the operator, or their owner)"},
	{UserTwoFactorReset, "Two-factor authentication reset by an administrator or the operator"},
	{UserPasskeyAdded, "Passkeys registered by their account's owner"},
	{UserPasskeyDeleted, "Passkeys deleted by their account's owner"},
	{UserPasskeySignIn, "Sign-ins with a passkey (alone, or as the second factor after the password)"},
	{UserCreated, "Accounts created by an administrator or the operator"},
	{OrgPolicyChanged, "Changes to the organisation's policy"},
	{UserExported, "Days on which an account owner downloaded their data (one per account and day)"},
	{OperatorRead, "Reads of account data or of the audit log by the server's operator"},
	{LegalRequest, "Legal requests received by the operator"},
	{ServerStarted, "Server starts"},
	{KeyRotated, "Rotations of the server's sealing key by the operator"},
	{CertificateChanged, "Changes of the TLS certificate the server presents"},
	{RetentionApplied, "Runs of the retention policy that deleted old records (counts only)"},
	{AuditPruned, "Deletions of the audit log's oldest entries under the retention policy"},
	{TokenCreated, "API tokens created (personal, or the organisation's by an administrator)"},
	{TokenRevoked, "API tokens revoked"},
	{IngestTokenCreated, "Stream-in (WHIP) tokens made by a meeting's owner"},
	{IngestTokenRevoked, "Stream-in (WHIP) tokens revoked"},
	{EgressTokenCreated, "Watch (WHEP) tokens made by a meeting's owner"},
	{EgressTokenRevoked, "Watch (WHEP) tokens revoked"},
	{WebhookCreated, "Webhooks registered by an administrator"},
	{WebhookChanged, "Webhooks turned off or on by an administrator"},
	{WebhookDeleted, "Webhooks deleted by an administrator"},
	{OrgSSOChanged, "Changes to the organisation's single sign-on provider"},
	{UserSSOCreated, "Accounts created by a first sign-in through single sign-on"},
	{UserSSOLinked, "Existing accounts linked to a single sign-on identity by their verified e-mail"},
	{UserSSOSignIn, "Sign-ins through single sign-on"},
	{ServerRecordingStarted, "Recordings by the server of meetings without end-to-end encryption, started by a host or co-host"},
	{ServerRecordingEnded, "Recordings by the server that ended (stopped, or at their length or size limit)"},
}

// MonthCounts is one calendar month (UTC) of the report.
type MonthCounts struct {
	Month  string         `json:"month"` // "2026-12"
	Counts map[Action]int `json:"counts"`
	// Legal counts legal requests by "kind/outcome".
	Legal map[string]int `json:"legal,omitempty"`
}

// Report is the transparency report: counts of the audit log's entries by
// action and month, made from the whole log after verifying its chain.
type Report struct {
	Head     Head           `json:"-"`
	Verified bool           `json:"verified"`
	Broken   *BrokenError   `json:"-"`
	Entries  int64          `json:"entries"`
	Months   []MonthCounts  `json:"months"` // newest first
	Totals   map[Action]int `json:"totals"`

	// First is the oldest entry stored and Since its time: retention may
	// have deleted the entries before it, which the report no longer
	// counts (it counts what is stored).
	First int64     `json:"first"`
	Since time.Time `json:"since"`
}

// BuildReport reads the whole log through r, verifying it as it goes,
// and counts it. A broken chain still gives the counts of what is stored
// (Verified false, Broken says where), so the report never hides them.
func BuildReport(ctx context.Context, r Reader) (Report, error) {
	rep := Report{Totals: map[Action]int{}}
	months := map[string]*MonthCounts{}
	v := NewVerifier(nil)
	var after int64
	for {
		entries, err := r.AuditEntries(ctx, after, 1000)
		if err != nil {
			return rep, err
		}
		for _, e := range entries {
			if rep.Broken == nil {
				if err := v.Add(e); err != nil {
					var b *BrokenError
					if !errors.As(err, &b) {
						return rep, err
					}
					rep.Broken = b
				}
			}
			if rep.Entries == 0 {
				rep.First, rep.Since = e.Seq, e.Time
			}
			rep.Entries++
			rep.Totals[e.Action]++
			key := monthOf(e.Time)
			m := months[key]
			if m == nil {
				m = &MonthCounts{Month: key, Counts: map[Action]int{}}
				months[key] = m
			}
			m.Counts[e.Action]++
			if e.Action == LegalRequest {
				if m.Legal == nil {
					m.Legal = map[string]int{}
				}
				m.Legal[e.Details["kind"]+"/"+e.Details["outcome"]]++
			}
			after = e.Seq
		}
		if len(entries) < 1000 {
			break
		}
	}
	if rep.Broken == nil {
		head, err := v.Done()
		var b *BrokenError
		switch {
		case errors.As(err, &b):
			rep.Broken = b
		case err != nil:
			return rep, err
		default:
			rep.Head, rep.Verified = head, true
		}
	}
	for _, m := range months {
		rep.Months = append(rep.Months, *m)
	}
	slices.SortFunc(rep.Months, func(a, b MonthCounts) int {
		switch {
		case a.Month > b.Month:
			return -1
		case a.Month < b.Month:
			return 1
		}
		return 0
	})
	return rep, nil
}

// monthOf is the report's month of a time.
func monthOf(t time.Time) string { return t.UTC().Format("2006-01") }
