// Package audit is Kaigi's tamper-evident audit log: an append-only list of
// the administrative and operator actions taken on the server, each entry
// bound to the one before it by a SHA-256 hash over a canonical encoding.
//
// The package knows nothing of storage. The store appends an entry in the
// same transaction as the action it records (Seal fills in its place in the
// chain), and Verify walks stored entries in order. Changing, removing or
// reordering any entry breaks every hash from it on; rewriting the whole
// chain from that entry on is caught by comparing the head (Head) with one
// published earlier, which is why `kaigi audit head` exists.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// HashSize is the size of an entry's hash.
const HashSize = sha256.Size

// Hash is an entry's SHA-256 (or the zero hash before the first entry).
type Hash [HashSize]byte

// String is the hash in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads a hash written by String.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != HashSize {
		return h, fmt.Errorf("audit: %q is not a %d-byte hex hash", s, HashSize)
	}
	copy(h[:], b)
	return h, nil
}

// Action names what was done. The names are stable: the transparency
// report and anyone checking a published log count by them.
type Action string

// The actions recorded.
const (
	// UserCreated: an account was made by an admin, by the operator on
	// the command line, or as the server's first account (its admin).
	UserCreated Action = "user.created"
	// OrgPolicyChanged: the organisation's policy (sign-up, two-factor,
	// meeting defaults, name) was changed.
	OrgPolicyChanged Action = "org.policy_changed"
	// UserSuspended: an account was suspended (its sessions ended), with
	// the reason its owner is shown; UserReinstated: the suspension was
	// lifted.
	UserSuspended  Action = "user.suspended"
	UserReinstated Action = "user.reinstated"
	// UserTwoFactorReset: an account's two-factor was turned off by an
	// admin or the operator.
	UserTwoFactorReset Action = "user.two_factor_reset"
	// UserDeleted: an account was deleted, by an admin, the operator, or
	// its owner (the actor is then the account itself).
	UserDeleted Action = "user.deleted"
	// MeetingEnded: an administrator ended a live meeting they do not
	// host (everyone in it is told the reason).
	MeetingEnded Action = "meeting.ended"
	// MeetingLocked, MeetingUnlocked: an administrator locked or unlocked
	// a meeting they do not host, live or not (everyone in it is told the
	// reason; the lock is kept with the meeting until a host or an
	// administrator lifts it).
	MeetingLocked   Action = "meeting.locked"
	MeetingUnlocked Action = "meeting.unlocked"
	// ServerStarted: a server started and checked the chain (recorded
	// once per start, so that a log cut short before a restart shows).
	ServerStarted Action = "server.started"
)

// ActorKind says who acted.
type ActorKind string

// The actors.
const (
	// ActorUser is an account acting through the web or API, usually an
	// organisation admin.
	ActorUser ActorKind = "user"
	// ActorOperator is whoever runs the server, acting through `kaigi`
	// commands on its data directory.
	ActorOperator ActorKind = "operator"
	// ActorSystem is the server itself (start-up, retention, the first
	// account becoming admin).
	ActorSystem ActorKind = "system"
)

// SubjectKind says what an action was done to.
type SubjectKind string

// The subjects.
const (
	SubjectUser    SubjectKind = "user"
	SubjectMeeting SubjectKind = "meeting"
	SubjectOrg     SubjectKind = "org"
	SubjectServer  SubjectKind = "server"
)

// Limits on an entry's text, so that no entry can grow the log without
// bound and every entry fits the canonical encoding.
const (
	MaxReason     = 1000 // bytes of Reason
	MaxDetails    = 16   // keys in Details
	MaxDetailText = 200  // bytes of a Details key or value
	maxIDText     = 200  // bytes of an actor or subject ID
)

// Entry is one line of the audit log.
type Entry struct {
	// Seq numbers entries from 1 without gaps. Seal sets it.
	Seq  int64
	Time time.Time // kept to the millisecond, UTC

	ActorKind ActorKind
	ActorID   string // the account ID for ActorUser, else empty

	Action      Action
	SubjectKind SubjectKind
	SubjectID   string // an account or meeting ID; empty for org/server

	// Reason is what the actor gave as the reason, shown to whoever the
	// action affects.
	Reason string
	// Details are small facts about the action (for example the role an
	// account was given, or which policy fields changed). No secrets, no
	// contents.
	Details map[string]string

	Prev Hash // the previous entry's Hash; zero for the first
	Hash Hash // SHA-256 of the canonical encoding; Seal sets it
}

// Validate checks an entry's fields before it is sealed.
func (e *Entry) Validate() error {
	switch {
	case e.Action == "" || !printable(string(e.Action), 64):
		return errors.New("audit: an entry needs an action")
	case e.ActorKind != ActorUser && e.ActorKind != ActorOperator && e.ActorKind != ActorSystem:
		return fmt.Errorf("audit: unknown actor kind %q", e.ActorKind)
	case e.ActorKind == ActorUser && e.ActorID == "":
		return errors.New("audit: a user actor needs an ID")
	case !printable(e.ActorID, maxIDText) || !printable(e.SubjectID, maxIDText):
		return errors.New("audit: actor and subject IDs are short printable text")
	case e.SubjectKind != SubjectUser && e.SubjectKind != SubjectMeeting && e.SubjectKind != SubjectOrg && e.SubjectKind != SubjectServer:
		return fmt.Errorf("audit: unknown subject kind %q", e.SubjectKind)
	case len(e.Reason) > MaxReason || !utf8.ValidString(e.Reason):
		return fmt.Errorf("audit: the reason is at most %d bytes of UTF-8", MaxReason)
	case len(e.Details) > MaxDetails:
		return fmt.Errorf("audit: at most %d details", MaxDetails)
	}
	for k, v := range e.Details {
		if k == "" || !printable(k, MaxDetailText) || len(v) > MaxDetailText || !utf8.ValidString(v) {
			return fmt.Errorf("audit: detail %q: keys are short printable text, values at most %d bytes", k, MaxDetailText)
		}
	}
	if e.Time.IsZero() {
		return errors.New("audit: an entry needs a time")
	}
	return nil
}

func printable(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// Seal places e after prev (the entry before it; nil for the first entry):
// it sets Seq, Prev and Hash, and keeps Time to the millisecond in UTC.
func Seal(e *Entry, prev *Entry) error {
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	if err := e.Validate(); err != nil {
		return err
	}
	e.Seq, e.Prev = 1, Hash{}
	if prev != nil {
		e.Seq, e.Prev = prev.Seq+1, prev.Hash
	}
	e.Hash = e.compute()
	return nil
}

// encodingVersion is the first byte of the canonical encoding; a change
// of encoding changes it.
const encodingVersion = 1

// domain keeps an audit hash from ever being mistaken for another SHA-256.
const domain = "kaigi audit entry\x00"

// Canonical is the entry's canonical encoding, which its hash covers:
// the version byte, Seq and Time (Unix milliseconds) as 8-byte big-endian
// integers, every text field as a 4-byte big-endian length and its bytes,
// Details as a count and then key, value pairs in byte order of the keys,
// and the previous hash.
func (e *Entry) Canonical() []byte {
	var b bytes.Buffer
	b.WriteByte(encodingVersion)
	num := func(n int64) { b.Write(binary.BigEndian.AppendUint64(nil, uint64(n))) }
	text := func(s string) {
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		b.WriteString(s)
	}
	num(e.Seq)
	num(e.Time.UnixMilli())
	text(string(e.ActorKind))
	text(e.ActorID)
	text(string(e.Action))
	text(string(e.SubjectKind))
	text(e.SubjectID)
	text(e.Reason)
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(keys))))
	for _, k := range keys {
		text(k)
		text(e.Details[k])
	}
	b.Write(e.Prev[:])
	return b.Bytes()
}

func (e *Entry) compute() Hash {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(e.Canonical())
	var out Hash
	h.Sum(out[:0])
	return out
}

// Head is where the chain stands: its last entry's number and hash. An
// empty log's head is 0 and the zero hash.
type Head struct {
	Seq  int64 `json:"seq"`
	Hash Hash  `json:"-"`
}

// String is "SEQ:HASH", the form `kaigi audit head` prints and
// `kaigi audit verify --head` reads.
func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, h.Hash) }

// ParseHead reads a head written by String.
func ParseHead(s string) (Head, error) {
	seq, hash, ok := strings.Cut(s, ":")
	var h Head
	var err error
	if h.Seq, err = strconv.ParseInt(seq, 10, 64); !ok || err != nil || h.Seq < 0 {
		return h, fmt.Errorf("audit: %q is not SEQ:HASH", s)
	}
	h.Hash, err = ParseHash(hash)
	return h, err
}

// BrokenError names the first entry that does not fit the chain.
type BrokenError struct {
	Seq    int64  // the entry's number as stored (or expected, for a gap)
	Reason string // what does not match
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit: the chain breaks at entry %d: %s", e.Seq, e.Reason)
}

// Verifier checks entries one at a time, in order, as a store reads them.
//
// A log may start after entry 1 when retention deleted its oldest entries
// (prune.go): it verifies only if an AuditPruned entry later in the log
// vouches for exactly the entries missing from its start, with the hash
// the first entry kept links to.
type Verifier struct {
	prev  *Entry
	count int64
	want  *Head
	found bool

	// first is the first entry seen and firstPrev its link; vouched is
	// the anchor that accounts for the entries before it (nil until one
	// does; not needed when first is 1); through the newest anchor's.
	first     int64
	firstPrev Hash
	vouched   *Entry
	through   int64
}

// NewVerifier starts a check of a whole log; with a non-nil head the log
// must also contain that head (an entry with its number and hash): a head
// published earlier proves the entries up to it were not rewritten since.
func NewVerifier(head *Head) *Verifier { return &Verifier{want: head} }

// Add checks the next entry; the error is a *BrokenError.
func (v *Verifier) Add(e Entry) error {
	wantSeq, wantPrev := int64(1), Hash{}
	if v.prev != nil {
		wantSeq, wantPrev = v.prev.Seq+1, v.prev.Hash
	} else if e.Seq > 1 {
		// The oldest entries were deleted; an anchor must vouch for
		// them further on (checked as it comes, and in Done).
		wantSeq, wantPrev = e.Seq, e.Prev
		v.first, v.firstPrev = e.Seq, e.Prev
	}
	if v.prev == nil && e.Seq == 1 {
		v.first = 1
	}
	switch {
	case e.Seq != wantSeq:
		return &BrokenError{Seq: wantSeq, Reason: fmt.Sprintf("entry %d comes next instead (removed or reordered entries)", e.Seq)}
	case e.Prev != wantPrev:
		return &BrokenError{Seq: e.Seq, Reason: "its link to the entry before does not match"}
	case e.compute() != e.Hash:
		return &BrokenError{Seq: e.Seq, Reason: "its contents do not match its hash (changed after it was written)"}
	}
	if e.Action == AuditPruned {
		if err := v.anchor(e); err != nil {
			return err
		}
	}
	if v.want != nil && v.want.Seq == e.Seq {
		if v.want.Hash != e.Hash {
			return &BrokenError{Seq: e.Seq, Reason: "its hash is not the published head's (the log was rewritten from here or earlier)"}
		}
		v.found = true
	}
	if v.want != nil && v.prev == nil && v.want.Seq == e.Seq-1 && v.want.Seq > 0 {
		// The published head is the last entry deleted: the first entry
		// kept still links to it (and an anchor must vouch for it).
		if v.want.Hash != e.Prev {
			return &BrokenError{Seq: v.want.Seq, Reason: "the published head is not the entry the oldest kept entry links to (the log was rewritten from here or earlier)"}
		}
		v.found = true
	}
	v.prev = &e
	v.count++
	return nil
}

// anchor checks an AuditPruned entry: it must say what it vouches for,
// claim only entries no longer stored, and come after every earlier
// anchor's claim; the one that vouches for the entries before the first
// stored must give the hash that entry links to.
func (v *Verifier) anchor(e Entry) error {
	a, err := ParseAnchor(e)
	if err != nil {
		return &BrokenError{Seq: e.Seq, Reason: "an audit.pruned entry that does not say what it vouches for"}
	}
	switch {
	case a.Through >= v.first:
		return &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("it says entries through %d were deleted, but entry %d onwards is still stored", a.Through, v.first)}
	case a.Through <= v.through:
		return &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("it says entries through %d were deleted, after an earlier record of deletion through %d", a.Through, v.through)}
	case a.Through == v.first-1 && a.Hash != v.firstPrev:
		return &BrokenError{Seq: e.Seq, Reason: fmt.Sprintf("the hash it gives for entry %d is not the one entry %d links to", a.Through, v.first)}
	case a.Through == v.first-1:
		v.vouched = &e
	}
	v.through = a.Through
	return nil
}

// Done finishes the check and returns the head of the entries seen. The
// error is a *BrokenError, or a *PrunedHeadError when the entries kept
// verify but the published head was deleted by retention.
func (v *Verifier) Done() (Head, error) {
	var h Head
	if v.prev != nil {
		h = Head{Seq: v.prev.Seq, Hash: v.prev.Hash}
	}
	if v.first > 1 && v.vouched == nil {
		from := v.through + 1
		why := fmt.Sprintf("entries %d to %d are missing from the start of the log and no audit.pruned entry accounts for them", from, v.first-1)
		if v.through > 0 {
			why += fmt.Sprintf(" (the last record of deletion covers entries through %d)", v.through)
		}
		return h, &BrokenError{Seq: from, Reason: why}
	}
	if v.want != nil && !v.found && v.want.Seq != 0 {
		if v.first > 1 && v.want.Seq < v.first {
			return h, &PrunedHeadError{Head: *v.want, First: v.first, AnchorSeq: v.vouched.Seq, AnchorTime: v.vouched.Time, Kept: h}
		}
		return h, &BrokenError{Seq: v.want.Seq, Reason: fmt.Sprintf("the published head is missing: the log ends at entry %d (entries removed from its end)", h.Seq)}
	}
	return h, nil
}

// First is the number of the first entry seen: 1 unless retention deleted
// the oldest entries (0 for an empty log).
func (v *Verifier) First() int64 { return v.first }

// Reader reads stored entries in order of their numbers.
type Reader interface {
	AuditEntries(ctx context.Context, after int64, limit int) ([]Entry, error)
}

// VerifyAll reads the whole log through r, a page at a time, and checks
// it (against head, when given). The error is a *BrokenError when the
// chain does not hold, a *PrunedHeadError when the head given was deleted
// by retention (the rest verifies), another error when the log could not
// be read.
func VerifyAll(ctx context.Context, r Reader, head *Head) (Head, error) {
	const page = 1000
	v := NewVerifier(head)
	var after int64
	for {
		entries, err := r.AuditEntries(ctx, after, page)
		if err != nil {
			return Head{}, fmt.Errorf("audit: reading entries after %d: %w", after, err)
		}
		for _, e := range entries {
			if err := v.Add(e); err != nil {
				return Head{}, err
			}
			after = e.Seq
		}
		if len(entries) < page {
			return v.Done()
		}
	}
}
