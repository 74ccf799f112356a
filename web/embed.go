// Package web holds the built browser client, embedded into the server
// binary. The TypeScript sources are in web/src; `make web` (npm run build)
// writes the bundle to web/dist, which this package embeds. A binary built
// before the client only serves a page saying so.
package web

import (
	"embed"
	"io/fs"
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
