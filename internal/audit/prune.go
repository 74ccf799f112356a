package audit

import (
	"fmt"
	"strconv"
	"time"
)

// Retention may delete the oldest entries of the log (an organisation's
// limit, never below the server's legal minimum). The chain must still
// verify afterwards, and a deletion must never pass for tampering nor
// tampering for a deletion, so entries are only ever deleted from the
// start of the log, and only after an anchor is sealed into the chain.
//
// Before deleting entries up to k, the store appends an AuditPruned entry
// (the anchor) whose details say through=k and the hash of entry k, in
// the same transaction as the deletion. A log whose first stored entry
// is f > 1 then verifies only if an anchor later in the log vouches for
// exactly f-1, with the hash entry f links to (its Prev), and no anchor
// claims entries that are still stored. The anchor is an ordinary entry:
// changing it breaks the chain; the transparency report counts it.

// AuditPruned: retention deleted the oldest entries of the audit log
// (details: through, hash, count, before, keepDays), the anchor that
// keeps the rest verifiable.
const AuditPruned Action = "audit.pruned"

// RetentionApplied: a run of the retention job that deleted something,
// or one the operator ran by hand (details: the counts per kind, never
// what was deleted).
const RetentionApplied Action = "retention.applied"

// Anchor is what an AuditPruned entry says.
type Anchor struct {
	// Through is the last entry deleted; Hash its hash, which the entry
	// after it links to.
	Through int64
	Hash    Hash
	// Count is how many entries this pruning deleted.
	Count int64
	// Before: every entry deleted was older than this; KeepDays the
	// limit applied (entries are kept that many days at least).
	Before   time.Time
	KeepDays int
}

// Details are the anchor as an entry's details.
func (a Anchor) Details() map[string]string {
	return map[string]string{
		"through":  strconv.FormatInt(a.Through, 10),
		"hash":     a.Hash.String(),
		"count":    strconv.FormatInt(a.Count, 10),
		"before":   a.Before.UTC().Format(time.RFC3339),
		"keepDays": strconv.Itoa(a.KeepDays),
	}
}

// ParseAnchor reads the anchor of an AuditPruned entry.
func ParseAnchor(e Entry) (Anchor, error) {
	var a Anchor
	if e.Action != AuditPruned {
		return a, fmt.Errorf("audit: entry %d is not %s", e.Seq, AuditPruned)
	}
	var err error
	d := e.Details
	bad := func(k string) (Anchor, error) {
		return Anchor{}, fmt.Errorf("audit: entry %d: %s: detail %q is missing or malformed", e.Seq, AuditPruned, k)
	}
	if a.Through, err = strconv.ParseInt(d["through"], 10, 64); err != nil || a.Through < 1 || a.Through >= e.Seq {
		return bad("through")
	}
	if a.Hash, err = ParseHash(d["hash"]); err != nil {
		return bad("hash")
	}
	if a.Count, err = strconv.ParseInt(d["count"], 10, 64); err != nil || a.Count < 1 || a.Count > a.Through {
		return bad("count")
	}
	if a.Before, err = time.Parse(time.RFC3339, d["before"]); err != nil {
		return bad("before")
	}
	if a.KeepDays, err = strconv.Atoi(d["keepDays"]); err != nil || a.KeepDays < 1 {
		return bad("keepDays")
	}
	return a, nil
}

// NewAnchor is the AuditPruned entry to append, at time now by actor, before
// deleting entries up to and including last (whose hash is last.Hash);
// count is how many entries that deletes.
func NewAnchor(now time.Time, actor ActorKind, last Entry, count int64, before time.Time, keepDays int) Entry {
	a := Anchor{Through: last.Seq, Hash: last.Hash, Count: count, Before: before, KeepDays: keepDays}
	return Entry{Time: now, ActorKind: actor, Action: AuditPruned, SubjectKind: SubjectServer, Details: a.Details()}
}

// PrunedHeadError says that a head published earlier cannot be checked
// any more: retention deleted its entry. It is not evidence of tampering
// (the entries kept verify), but nor is the head verified: compare a head
// published after the pruning.
type PrunedHeadError struct {
	Head Head
	// First is the oldest entry kept; AnchorSeq and AnchorTime the
	// AuditPruned entry that vouches for the entries before it.
	First      int64
	AnchorSeq  int64
	AnchorTime time.Time
	// Kept is the head of the entries kept, which verify.
	Kept Head
}

func (e *PrunedHeadError) Error() string {
	return fmt.Sprintf("audit: the published head %d cannot be checked: entries 1 to %d were deleted, and entry %d (on %s) says retention deleted them; "+
		"the %d entries kept verify up to head %s. Whether retention did cannot be told from the log alone (an anchor has no secret): "+
		"compare that entry's date and limit with the organisation's retention policy and legal minimum, and check a head published after entry %d",
		e.Head.Seq, e.First-1, e.AnchorSeq, e.AnchorTime.UTC().Format(time.DateOnly), e.Kept.Seq-e.First+1, e.Kept, e.First-1)
}
