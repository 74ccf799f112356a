package audit

// IngestTokenCreated: a meeting's owner made a WHIP ingest token, which
// lets a streaming program publish into the meeting (details: id, name);
// IngestTokenRevoked: one was revoked (details: id, name). The subject is
// the meeting. The token itself is never recorded.
const (
	IngestTokenCreated Action = "ingest_token.created"
	IngestTokenRevoked Action = "ingest_token.revoked"
)
