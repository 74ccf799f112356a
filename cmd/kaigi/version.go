package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/kaigi-meet/kaigi/internal/server"
	"github.com/kaigi-meet/kaigi/web"
)

// printVersion prints what an organisation publishes so that people can
// check a server against a release: the version, the fingerprint of the
// embedded web client (web.Digest, docs/operations.md says how to
// recompute it) and the Go toolchain, which a reproducible rebuild needs.
func printVersion(w io.Writer) error {
	digest, files, err := web.Digest(web.Dist())
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "kaigi", server.Version)
	if files == 0 {
		fmt.Fprintln(w, "web client: not built into this binary")
	} else {
		fmt.Fprintf(w, "web client sha256: %s (%d files)\n", digest, files)
	}
	fmt.Fprintf(w, "built with %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
