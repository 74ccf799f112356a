package audit

import "time"

// JSON is an entry as Kaigi shows it outside the database: in the API
// (docs/api.md) and in `kaigi audit list --json`.
type JSON struct {
	Seq         int64             `json:"seq"`
	Time        time.Time         `json:"time"`
	ActorKind   string            `json:"actorKind"`
	ActorID     string            `json:"actorId,omitempty"`
	Action      string            `json:"action"`
	SubjectKind string            `json:"subjectKind"`
	SubjectID   string            `json:"subjectId,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
	Prev        string            `json:"prev,omitempty"`
	Hash        string            `json:"hash,omitempty"`
}

// Shown says how much of an entry ToJSON shows.
type Shown int

const (
	// ShownToSubject leaves out who acted (a person sees that an
	// administrator acted on their account, and why, not which one) and
	// the chain's hashes.
	ShownToSubject Shown = iota
	// ShownToAdmin adds the acting account and the entry's hash.
	ShownToAdmin
	// ShownWhole is everything, the previous hash included (the operator's
	// command line).
	ShownWhole
)

// ToJSON shows an entry.
func ToJSON(e Entry, shown Shown) JSON {
	j := JSON{Seq: e.Seq, Time: e.Time, ActorKind: string(e.ActorKind), Action: string(e.Action),
		SubjectKind: string(e.SubjectKind), SubjectID: e.SubjectID, Reason: e.Reason, Details: e.Details}
	if shown >= ShownToAdmin {
		j.ActorID, j.Hash = e.ActorID, e.Hash.String()
	}
	if shown == ShownWhole {
		j.Prev = e.Prev.String()
	}
	return j
}
