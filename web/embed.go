// Package web holds the built browser client, embedded into the server
// binary. The TypeScript sources are in web/src; `make web` (npm run build)
// writes the bundle to web/dist, which this package embeds. A binary built
// before the client only serves a page saying so.
//
// Digest fingerprints the client, so that an organisation can publish the
// value its server shows (kaigi version, the /about page) and anyone can
// recompute it from a release's files.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built client: index.html and assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// DigestCommand recomputes Digest with standard tools, run in web/dist
// (GNU find, sort, xargs and sha256sum; on macOS, `shasum -a 256` for
// sha256sum and gxargs or a loop for xargs -d). Its output is the digest
// followed by "  -".
const DigestCommand = `find . -type f ! -name '.*' | cut -c3- | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum`

// Digest is the web client's fingerprint: the SHA-256, in lower-case hex,
// of the list that sha256sum prints for the client's files, which is
//
//	for every regular file whose name does not start with "." (the files
//	the server serves; dist/.gitkeep is not one), one line
//	"<SHA-256 of its bytes, lower-case hex><two spaces><path>\n",
//	the path relative to the client's root with "/" between names,
//	the lines in bytewise order of their paths.
//
// So it changes when any served byte, name or file changes, and nothing
// else (not times, modes or the order files were written). files is how
// many files it covers. A path that sha256sum would escape (one with a
// backslash or a line break) is refused, to keep the definition exact.
func Digest(fsys fs.FS) (digest string, files int, err error) {
	var paths []string
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		if strings.ContainsAny(p, "\\\n\r") {
			return fmt.Errorf("web client file %q: a backslash or line break in a path is not allowed", p)
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return "", 0, fmt.Errorf("digest of the web client: %w", err)
	}
	sort.Strings(paths) // bytewise, as LC_ALL=C sort
	list := sha256.New()
	for _, p := range paths {
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return "", 0, fmt.Errorf("digest of the web client: %w", err)
		}
		sum := sha256.Sum256(body)
		fmt.Fprintf(list, "%s  %s\n", hex.EncodeToString(sum[:]), p)
	}
	return hex.EncodeToString(list.Sum(nil)), len(paths), nil
}
