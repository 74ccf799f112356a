package server

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// checkAudit verifies the audit log's chain at start-up, says so in the
// log, and records the start (with the verdict) as an entry of its own,
// so that a log cut short and a restart show in the log itself. A broken
// chain is reported loudly but does not stop the server: the evidence
// stays as it is for whoever investigates.
func checkAudit(ctx context.Context, db *store.SQLite, log *slog.Logger) error {
	start := time.Now()
	head, err := audit.VerifyAll(ctx, db, nil)
	verdict := ""
	var broken *audit.BrokenError
	switch {
	case errors.As(err, &broken):
		log.Error("audit log: the chain is BROKEN; it was changed outside Kaigi", "entry", broken.Seq, "why", broken.Reason)
		verdict = "broken at entry " + strconv.FormatInt(broken.Seq, 10)
	case err != nil:
		return err
	default:
		log.Info("audit log verified", "last_entry", head.Seq, "head", head.String(), "took", time.Since(start).Round(time.Millisecond))
		verdict = "verified to entry " + strconv.FormatInt(head.Seq, 10)
	}
	_, err = db.AppendAudit(ctx, audit.Entry{Time: time.Now(), ActorKind: audit.ActorSystem, Action: audit.ServerStarted,
		SubjectKind: audit.SubjectServer, Details: map[string]string{"version": Version, "chain": verdict}})
	return err
}
