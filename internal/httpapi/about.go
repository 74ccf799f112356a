package httpapi

import (
	"io/fs"
	"net/http"
	"runtime"
	"runtime/debug"

	"github.com/kaigi-meet/kaigi/web"
)

// aboutInfo is GET /api/about: what an organisation publishes so that
// people can check that this server runs the release it says (problem P11
// of the product brief: fake download sites): the version, the SHA-256 of
// the web client it serves (web.Digest, which anyone can recompute from a
// release's files with web.DigestCommand), and how the binary was built.
type aboutInfo struct {
	Version   string        `json:"version"`
	WebClient aboutWeb      `json:"webClient"`
	Build     aboutBuild    `json:"build"`
	Source    string        `json:"source"`
	Licence   string        `json:"licence"`
	Links     []aboutLinkTo `json:"links"`
}

type aboutWeb struct {
	// SHA256 is web.Digest of the client served, "" when none is built.
	SHA256  string `json:"sha256"`
	Files   int    `json:"files"`
	Command string `json:"command"`
}

type aboutBuild struct {
	Go       string `json:"go"`
	Platform string `json:"platform"`
	// Trimpath: built with -trimpath, as releases are (docs/operations.md).
	Trimpath bool `json:"trimpath"`
	// Revision is the source control revision stamped by go build, if any
	// (releases build with -buildvcs=false, so none).
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
}

type aboutLinkTo struct {
	Label string `json:"label"`
	Href  string `json:"href"`
}

// licence is the licence the source is published under. The repository
// states none yet; the page says so rather than guess.
const licence = ""

// newAbout describes this server; it reads the web client once (a few
// megabytes, hashed in milliseconds) at start.
func newAbout(version string, client fs.FS) (aboutInfo, error) {
	info := aboutInfo{
		Version: version,
		Source:  "github.com/kaigi-meet/kaigi",
		Licence: licence,
		Links:   []aboutLinkTo{{"What Kaigi stores, and why", "/privacy"}},
		Build:   aboutBuild{Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH},
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			info.Source = bi.Main.Path
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "-trimpath":
				info.Build.Trimpath = s.Value == "true"
			case "vcs.revision":
				info.Build.Revision = s.Value
			case "vcs.modified":
				info.Build.Modified = s.Value == "true"
			}
		}
	}
	info.WebClient.Command = web.DigestCommand
	if client == nil {
		return info, nil
	}
	digest, files, err := web.Digest(client)
	if err != nil {
		return info, err
	}
	if files > 0 {
		info.WebClient.SHA256, info.WebClient.Files = digest, files
	}
	return info, nil
}

// about serves GET /api/about, to anyone.
func (a *api) about(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.aboutInfo)
}
