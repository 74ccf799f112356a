package server

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/geo"
	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// countryCheck is signal's and httpapi's CountryCheck.
type countryCheck = func(ctx context.Context, addr netip.Addr, rule *meeting.CountryRule) (string, error)

// openGeoIP opens the country database that geoip.database names, once,
// and returns the check the signalling server and the API apply at join:
// the organisation's rule (read at each check) and the meeting's. Without
// a database it returns nil: nothing is looked up, and no country rule
// can be set; a rule the organisation set while there was one is then not
// enforced, which the log says at start. The database stays open for the
// process's life (its memory is released with the reader; closing it
// under a lookup in flight would not be safe).
func openGeoIP(ctx context.Context, cfg config.Config, accounts *auth.Service, log *slog.Logger) (countryCheck, error) {
	if cfg.GeoIP.Database == "" {
		if org, err := accounts.Org(ctx); err == nil && org.Country.On() {
			log.Warn("the organisation's country rule is NOT enforced: no geoip.database is configured", "rule", org.Country.Mode, "codes", org.Country.Codes)
		}
		return nil, nil
	}
	db, err := geo.Open(cfg.GeoIP.Database)
	if err != nil {
		return nil, err
	}
	kind, built, ipv6 := db.Info()
	log.Info("geoip database loaded (read once; restart to use a new file)", "file", cfg.GeoIP.Database, "type", kind, "built", built.UTC().Format("2006-01-02"), "ipv6", ipv6)
	pol := &geo.Policy{DB: db, Org: func(ctx context.Context) (*meeting.CountryRule, error) {
		org, err := accounts.Org(ctx)
		if err != nil {
			return nil, err
		}
		return &org.Country, nil
	}}
	return func(ctx context.Context, addr netip.Addr, rule *meeting.CountryRule) (string, error) {
		r, err := pol.Check(ctx, addr, rule)
		return r.Message, err
	}, nil
}
