package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// staticFile is one file of the web client, held in memory with its ETag.
type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes are the types of the client's files that must not depend on
// the system's MIME table: WebAssembly is compiled as it streams in only as
// application/wasm, and background blur's model and graph
// (dist/assets/blur/) are opaque data.
var contentTypes = map[string]string{
	".js":       "text/javascript; charset=utf-8",
	".wasm":     "application/wasm",
	".tflite":   "application/octet-stream",
	".binarypb": "application/octet-stream",
}

// webClient serves the built client from memory.
type webClient struct {
	files map[string]*staticFile // by path without leading slash
}

// loadWebClient reads every file of the built client. It fails if
// index.html is missing, which means the client was not built.
func loadWebClient(fsys fs.FS) (*webClient, error) {
	wc := &webClient{files: make(map[string]*staticFile)}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := contentTypes[path.Ext(p)]
		if ct == "" {
			ct = mime.TypeByExtension(path.Ext(p))
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		wc.files[p] = &staticFile{body: body, contentType: ct, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read web client: %w", err)
	}
	if wc.files["index.html"] == nil {
		return nil, fmt.Errorf("web client not built: index.html missing (run `make web`)")
	}
	return wc, nil
}

// serve writes one file. Every response is revalidated (no-cache) against
// its ETag, so a new server version never runs with an old client.
func (wc *webClient) serve(w http.ResponseWriter, r *http.Request, name string) {
	f := wc.files[name]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// index serves the single-page client for / and /m/{id}.
func (wc *webClient) index(w http.ResponseWriter, r *http.Request) {
	wc.serve(w, r, "index.html")
}

// assets serves /assets/...
func (wc *webClient) assets(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if !strings.HasPrefix(name, "assets/") || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	wc.serve(w, r, name)
}

// missingClient answers when the client was not built.
func missingClient(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintln(w, "The Kaigi web client has not been built. Run `make web` (or `make run`) and restart the server.")
}
