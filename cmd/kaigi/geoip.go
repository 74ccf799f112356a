package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/geo"
)

// stringList is a flag that may be repeated and holds comma-separated
// values.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// geoipCmd runs `kaigi geoip import`: it builds the country database that
// geoip.database names from Debian's tor-geoipdb files.
func geoipCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: kaigi geoip import [--from DIR_OR_FILE ...] --out FILE")
		return errors.New("geoip: the only subcommand is import")
	}
	fs := flag.NewFlagSet("kaigi geoip import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var from stringList
	fs.Var(&from, "from", "tor-geoipdb `files or directories` (repeat or separate with commas; a directory means its geoip and geoip6); default /usr/share/tor")
	out := fs.String("out", "", "the MMDB `file` to write (replaced only once complete); set geoip.database to it")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("geoip import: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return errors.New("geoip import: --out is required")
	}
	if len(from) == 0 {
		from = stringList{"/usr/share/tor"}
	}
	start := time.Now()
	st, err := geo.ImportFiles(from, *out)
	if err != nil {
		return fmt.Errorf("geoip import: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d bytes, %d IPv4 and %d IPv6 ranges in %d countries, in %s\n",
		*out, st.Bytes, st.IPv4Ranges, st.IPv6Ranges, st.Countries, time.Since(start).Round(time.Millisecond))
	if len(st.Skipped) > 0 {
		var parts []string
		for _, c := range geo.SortedCodes(st.Skipped) {
			parts = append(parts, fmt.Sprintf("%s %d", c, st.Skipped[c]))
		}
		fmt.Fprintf(stdout, "left out (lookups there answer unknown): %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintln(stdout, "The server reads it at start: restart kaigi serve to use a new one.")
	return nil
}
