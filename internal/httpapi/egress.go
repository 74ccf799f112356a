package httpapi

import (
	"net/http"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/kaigi-meet/kaigi/internal/whip"
)

// WHEP egress (internal/whip, whep.go; docs/api.md, "WHEP egress"): a
// meeting's owner (or a host or co-host of it while it runs, as for
// ingest) makes, lists and revokes the meeting's egress tokens
// at /api/meetings/{id}/egress, as ingest tokens at .../ingest (the same
// store, kind "whep", the same rules: the browser's session, a recent
// sign-in to make one, shown once, at most 10). A program watches the
// meeting with one at /whep/{meetingID}; revoking it ends its session.

var egressKind = tokenKind{kind: store.IngestKindWHEP, path: "egress", endpoint: "/whep/", prefix: whip.EgressTokenPrefix, idPrefix: "egr_",
	created: audit.EgressTokenCreated, revoked: audit.EgressTokenRevoked, log: "egress",
	tooMany: "A meeting has at most 10 watch (WHEP) tokens; revoke one first."}

func (a *api) egressRoutes(mux *http.ServeMux, in Ingest) {
	mux.Handle("/whep/", in.WHIP)
	a.tokenKindRoutes(mux, in, egressKind)
}
