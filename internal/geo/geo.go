// Package geo answers which country a network address is in, from a local
// MaxMind-format (MMDB) database, and decides joins by the organisation's
// and a meeting's country rules (meeting.CountryRule). It also builds such
// a database from Debian's tor-geoipdb files (import.go), whose records
// look like GeoLite2-Country's, so a GeoLite2 or DB-IP country database
// works the same.
//
// The database is read once, when the server starts: a new file takes
// effect at the next start (there is no reload). Nothing is sent anywhere.
package geo

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/oschwald/maxminddb-golang/v2"
)

// DB is an opened country database. It is safe for concurrent use.
type DB struct {
	r    *maxminddb.Reader
	path string
}

// Open reads and verifies the database at path.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: %w", path, err)
	}
	if err := r.Verify(); err != nil {
		r.Close()
		return nil, fmt.Errorf("geoip database %s is damaged: %w", path, err)
	}
	return &DB{r: r, path: path}, nil
}

// Close releases the database.
func (d *DB) Close() error { return d.r.Close() }

// Info describes the database for the log: its type, when it was built,
// and whether it answers IPv6 addresses.
func (d *DB) Info() (kind string, built time.Time, ipv6 bool) {
	m := d.r.Metadata
	return m.DatabaseType, m.BuildTime(), m.IPVersion == 6
}

// Place says where addr is. The database is asked first: an address it
// maps to a country is in that country, even in a private range (a
// database of one's own may map internal networks). Otherwise a private
// address (RFC 1918, loopback, link-local, IPv6 ULA, carrier-grade NAT) is
// private, and anything else, including a code that is not an ISO 3166-1
// country (such as EU or AP in some databases), is unknown.
func (d *DB) Place(addr netip.Addr) meeting.Place {
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() {
		return meeting.Place{}
	}
	var code string
	if d != nil {
		if err := d.r.Lookup(addr).DecodePath(&code, "country", "iso_code"); err != nil {
			code = ""
		}
	}
	if meeting.KnownCountry(code) {
		return meeting.Place{Country: code}
	}
	return meeting.Place{Private: Private(addr)}
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Private reports whether addr is in a private network: RFC 1918 and IPv6
// unique local addresses (fc00::/7), loopback, link-local, or
// carrier-grade NAT (100.64.0.0/10, RFC 6598).
func Private(addr netip.Addr) bool {
	addr = addr.Unmap()
	return addr.IsPrivate() || addr.IsLoopback() || addr.IsLinkLocalUnicast() || cgnat.Contains(addr)
}
