package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// The organisation's policy: reading it, and changing it on an
// administrator's or the operator's word with every changed field in the
// audit entry.

// Org returns the organisation's policy.
func (s *Service) Org(ctx context.Context) (Org, error) {
	o, err := s.store.Org(ctx)
	return s.withAuditFloor(o), err
}

// UpdateOrg changes the organisation's policy; admins only.
func (s *Service) UpdateOrg(ctx context.Context, by User, o Org) error {
	if by.Role != RoleAdmin {
		return ErrForbidden
	}
	if err := s.checkRequirePasskeys(ctx, by, o); err != nil {
		return err
	}
	return s.updateOrg(ctx, ByAdmin(by), o, "")
}

// OperatorUpdateOrg changes the organisation's policy for the operator's
// command line, with the same checks as UpdateOrg; the change is recorded
// as the operator's, with the reason (required).
func (s *Service) OperatorUpdateOrg(ctx context.Context, o Org, reason string) error {
	reason, err := checkReason(reason, false)
	if err != nil {
		return err
	}
	return s.updateOrg(ctx, ByOperator, o, reason)
}

// updateOrg checks and saves o on by's word, recording org.policy_changed
// with the fields that changed (and reason, when given).
func (s *Service) updateOrg(ctx context.Context, by Actor, o Org, reason string) error {
	if err := o.MeetingDefaults.Validate(); err != nil {
		return err
	}
	if err := o.Country.Validate(); err != nil {
		return err
	}
	o.Country = orgCountry(o.Country.Normalised())
	o.MeetingDefaults.Country = o.MeetingDefaults.Country.Normalised()
	if err := o.Regions.Validate(); err != nil {
		return err
	}
	if n := o.Regions.Normalised(); n != nil {
		o.Regions = *n
	} else {
		o.Regions = nil
	}
	o.MeetingDefaults.Regions = o.MeetingDefaults.Regions.Normalised()
	if o.Name, _ = normaliseName(o.Name); o.Name == "" {
		o.Name = DefaultOrg().Name
	}
	before, err := s.store.Org(ctx)
	if err != nil {
		return err
	}
	if o.Retention, err = s.retentionFor(o.Retention, before.Retention); err != nil {
		return err
	}
	rec := by.entry()
	rec.Time, rec.Action, rec.SubjectKind, rec.Reason = s.now(), audit.OrgPolicyChanged, audit.SubjectOrg, reason
	rec.Details = orgChanges(before, o)
	if err := s.store.SetOrg(ctx, o, rec); err != nil {
		return err
	}
	s.log.Info("organisation settings changed", "user", rec.ActorID, "by", rec.ActorKind)
	return nil
}

// orgCountry is the organisation's rule as stored: off is the zero rule.
func orgCountry(r *meeting.CountryRule) meeting.CountryRule {
	if r == nil {
		return meeting.CountryRule{}
	}
	return *r
}

// orgChanges lists the policy fields that differ between before and
// after, each with its new value (by their JSON names; meeting defaults
// as meetingDefaults.<name>), for the audit entry of a policy change.
// No change is ever left out without a trace: a field present before and
// absent after is recorded as removedValue; a value longer than an
// entry's detail allows is recorded as a prefix and the SHA-256 of the
// whole value (shortDetail), so any change to it changes the entry; and
// when more fields changed than an entry holds, the first ones in sorted
// order keep their values and the detail "more" names the others.
func orgChanges(before, after Org) map[string]string {
	flat := func(o Org) map[string]string {
		out := map[string]string{}
		var top map[string]json.RawMessage
		b, _ := json.Marshal(o)
		_ = json.Unmarshal(b, &top)
		for k, v := range top {
			var inner map[string]json.RawMessage
			if json.Unmarshal(v, &inner) == nil {
				for ik, iv := range inner {
					out[k+"."+ik] = string(iv)
				}
				continue
			}
			out[k] = string(v)
		}
		return out
	}
	was, now := flat(before), flat(after)
	var keys []string
	for k, v := range now {
		if old, ok := was[k]; !ok || old != v {
			keys = append(keys, k)
		}
	}
	for k := range was {
		if _, ok := now[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	changed := map[string]string{}
	for i, k := range keys {
		if len(keys) > audit.MaxDetails && i == audit.MaxDetails-1 {
			changed[moreDetail] = shortDetail(strings.Join(keys[i:], ","))
			break
		}
		v, ok := now[k]
		if !ok {
			v = removedValue
		}
		changed[k] = shortDetail(v)
	}
	return changed
}

const (
	// removedValue is the detail of a policy field that a change removed.
	removedValue = "(removed)"
	// moreDetail names, comma-separated, the changed policy fields that
	// did not fit in the entry.
	moreDetail = "more"
)

// shortDetail is v when it fits in an audit detail, else its first bytes
// (whole characters), " sha256:" and the hex SHA-256 of all of v.
func shortDetail(v string) string {
	if len(v) <= audit.MaxDetailText {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	tail := " sha256:" + hex.EncodeToString(sum[:])
	head := v[:audit.MaxDetailText-len(tail)]
	for len(head) > 0 && !utf8.ValidString(head) {
		head = head[:len(head)-1]
	}
	return head + tail
}
