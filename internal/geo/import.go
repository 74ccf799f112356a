package geo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// DatabaseType is the type written into databases that Import builds.
const DatabaseType = "Kaigi-Country"

// Source is one tor-geoipdb file: Debian's /usr/share/tor/geoip (IPv4
// lines FROM_INT,TO_INT,CC) or /usr/share/tor/geoip6 (IPv6 lines
// FROM_IPV6,TO_IPV6,CC); lines starting with # are comments. Which kind a
// line is comes from the line itself, so one file may hold both.
type Source struct {
	Name string // for error messages: file:line
	R    io.Reader
}

// ImportStats say what an import did.
type ImportStats struct {
	IPv4Ranges, IPv6Ranges int // written
	Countries              int // distinct codes written
	// Skipped counts ranges not written, by their code: "??" (the
	// files' unknown) and codes that are not ISO 3166-1 countries (such
	// as EU or AP); lookups in them answer unknown.
	Skipped map[string]int
	// Aliased counts IPv6 ranges left out because they lie in a network
	// that stands for IPv4 (::ffff:0:0/96, Teredo 2001::/32, 6to4
	// 2002::/16): lookups there answer from the IPv4 address inside.
	Aliased int
	Bytes   int64 // the database's size
}

// ipv4Aliases are the IPv6 networks the writer points at the IPv4 tree.
var ipv4Aliases = []netip.Prefix{
	netip.MustParsePrefix("::ffff:0:0/96"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2002::/16"),
}

func aliased(from, to netip.Addr) bool {
	for _, p := range ipv4Aliases {
		if p.Contains(from) || p.Contains(to) {
			return true
		}
	}
	return false
}

// SourceFiles expands paths for Import: a directory stands for the geoip
// and geoip6 files in it (at least one must exist), a file for itself.
func SourceFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		n := len(out)
		for _, name := range []string{"geoip", "geoip6"} {
			if _, err := os.Stat(filepath.Join(p, name)); err == nil {
				out = append(out, filepath.Join(p, name))
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s holds neither geoip nor geoip6 (install Debian's tor-geoipdb: they are in /usr/share/tor)", p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no source files")
	}
	return out, nil
}

// ImportFiles reads the tor-geoipdb files at paths (see SourceFiles) and
// writes the database to out, replacing it only once the new one is
// complete.
func ImportFiles(paths []string, out string) (ImportStats, error) {
	files, err := SourceFiles(paths)
	if err != nil {
		return ImportStats{}, err
	}
	var srcs []Source
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return ImportStats{}, err
		}
		defer fh.Close()
		srcs = append(srcs, Source{Name: f, R: fh})
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*.tmp")
	if err != nil {
		return ImportStats{}, err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	st, err := Import(srcs, tmp)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, err
	}
	return st, os.Rename(tmp.Name(), out)
}

// Import reads tor-geoipdb sources and writes an MMDB to w whose records
// are GeoLite2-Country's shape, {"country": {"iso_code": "DE"}}, for both
// IPv4 and IPv6 (IPv4 also under ::ffff:0:0/96 and the other IPv6 aliases
// of IPv4). A later range overrides an earlier one where they overlap.
// "UK" is written as GB (ISO 3166-1 reserves UK for it); "??" and codes
// that are no country are left out.
func Import(srcs []Source, w io.Writer) (ImportStats, error) {
	st := ImportStats{Skipped: map[string]int{}}
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            DatabaseType,
		Description:             map[string]string{"en": "Country database built by kaigi geoip import from tor-geoipdb files"},
		IncludeReservedNetworks: true,
		RecordSize:              28,
		KeyGenerator:            countryKey{},
		BuildEpoch:              time.Now().Unix(),
	})
	if err != nil {
		return st, err
	}
	values := map[string]mmdbtype.Map{}
	for _, src := range srcs {
		sc := bufio.NewScanner(src.R)
		sc.Buffer(make([]byte, 4096), 4096)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' {
				continue
			}
			from, to, code, err := parseLine(line)
			if err != nil {
				return st, fmt.Errorf("%s:%d: %w", src.Name, n, err)
			}
			if code == "UK" {
				code = "GB"
			}
			if !meeting.KnownCountry(code) {
				st.Skipped[code]++
				continue
			}
			if from.Is6() && aliased(from, to) {
				st.Aliased++
				continue
			}
			v, ok := values[code]
			if !ok {
				v = mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(code)}}
				values[code] = v
			}
			if err := tree.InsertRange(net.IP(from.AsSlice()), net.IP(to.AsSlice()), v); err != nil {
				var alias *mmdbwriter.AliasedNetworkError
				if errors.As(err, &alias) { // a range around an alias: the rest of it is in
					st.Aliased++
					continue
				}
				return st, fmt.Errorf("%s:%d: %w", src.Name, n, err)
			}
			if from.Is4() {
				st.IPv4Ranges++
			} else {
				st.IPv6Ranges++
			}
		}
		if err := sc.Err(); err != nil {
			return st, fmt.Errorf("%s: %w", src.Name, err)
		}
	}
	st.Countries = len(values)
	st.Bytes, err = tree.WriteTo(w)
	return st, err
}

// parseLine reads "FROM_INT,TO_INT,CC" or "FROM_IPV6,TO_IPV6,CC".
func parseLine(line string) (from, to netip.Addr, code string, err error) {
	parts := strings.Split(line, ",")
	if len(parts) != 3 {
		return from, to, "", fmt.Errorf("want FROM,TO,CC, got %q", truncate(line))
	}
	code = strings.TrimSpace(parts[2])
	if len(code) != 2 {
		return from, to, "", fmt.Errorf("country code %q is not two characters", truncate(code))
	}
	a, b := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
	if strings.Contains(a, ":") || strings.Contains(b, ":") {
		if from, err = netip.ParseAddr(a); err == nil {
			to, err = netip.ParseAddr(b)
		}
		if err != nil || !from.Is6() || !to.Is6() || from.Is4In6() || to.Is4In6() || from.Zone() != "" || to.Zone() != "" {
			return from, to, "", fmt.Errorf("not an IPv6 range: %q", truncate(line))
		}
	} else {
		x, err1 := strconv.ParseUint(a, 10, 32)
		y, err2 := strconv.ParseUint(b, 10, 32)
		if err1 != nil || err2 != nil {
			return from, to, "", fmt.Errorf("not an IPv4 range of integers: %q", truncate(line))
		}
		from, to = v4(uint32(x)), v4(uint32(y))
	}
	if to.Less(from) {
		return from, to, "", fmt.Errorf("range ends before it starts: %q", truncate(line))
	}
	return from, to, code, nil
}

func v4(n uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// countryKey keys the tree's values by their country code: every value
// Import inserts is one of its per-code maps, so the code is unique, and
// the writer need not serialise and hash each of the ranges' values.
type countryKey struct{}

func (countryKey) Key(v mmdbtype.DataType) ([]byte, error) {
	if m, ok := v.(mmdbtype.Map); ok {
		if c, ok := m["country"].(mmdbtype.Map); ok {
			if s, ok := c["iso_code"].(mmdbtype.String); ok {
				return []byte("c:" + s), nil
			}
		}
	}
	// Anything else (the writer's own values): a key of its own.
	return []byte(fmt.Sprintf("other:%#v", v)), nil
}

// SortedCodes returns the codes of a count, sorted (for the import's
// summary).
func SortedCodes(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
