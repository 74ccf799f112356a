package e2ee

import "errors"

// Sentinel errors, mapped to protocol codes by the signalling layer.
var (
	// ErrStaleEpoch means a commit was made on an epoch that is no longer
	// current: the committer must catch up and retry if still needed.
	ErrStaleEpoch = errors.New("commit for a stale epoch")
	// ErrNotCommitter means the sender was not asked to commit (or its
	// request was reassigned).
	ErrNotCommitter = errors.New("not the committer")
	// ErrNotMember means the sender is not in the group.
	ErrNotMember = errors.New("not a group member")
	// ErrBadMessage means a message is malformed: empty, too large, or
	// its lists do not match the request.
	ErrBadMessage = errors.New("malformed E2EE message")
	// ErrTooSoon means a member committed a key update of its own too
	// soon after its last one (UpdateInterval), or a recording commit
	// too soon after its last ones (MaxRecordingCommits).
	ErrTooSoon = errors.New("key update too soon after the last")
	// ErrStillPresent means a commit made unasked would remove someone
	// who is still in the meeting: only a job removes them (when they
	// rejoined with a fresh KeyPackage).
	ErrStillPresent = errors.New("participant still in the meeting")
	// ErrBadKeyPackage means a KeyPackage is malformed, or not one a
	// Kaigi client makes (CheckKeyPackage).
	ErrBadKeyPackage = errors.New("bad KeyPackage")
)
