package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// staticFile is what the server keeps of one file of the web client: its
// type and ETag. The content stays in the file system it came from.
type staticFile struct {
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

// webClient serves the built client from the file system it was given,
// which in the server is the one embedded in the executable
// (web/embed.go): its files are read from the executable's read-only data
// as they are sent, never copied into the heap. A copy of every file
// (background blur's WebAssembly alone is 11 MiB) was 15 MiB of the idle
// server's 19 MiB live heap, and as much again of its RSS.
type webClient struct {
	fsys  fs.FS
	files map[string]*staticFile // by path without leading slash
}

// loadWebClient reads every file of the built client once, for its ETag.
// It fails if index.html is missing, which means the client was not built.
func loadWebClient(fsys fs.FS) (*webClient, error) {
	wc := &webClient{fsys: fsys, files: make(map[string]*staticFile)}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		sum, err := digest(fsys, p)
		if err != nil {
			return err
		}
		ct := contentTypes[path.Ext(p)]
		if ct == "" {
			ct = mime.TypeByExtension(path.Ext(p))
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		wc.files[p] = &staticFile{contentType: ct, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
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

// digest is the SHA-256 of one file, read through a small buffer.
func digest(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
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
	file, err := wc.fsys.Open(name)
	if err != nil {
		http.Error(w, "web client file unavailable", http.StatusInternalServerError)
		return
	}
	defer file.Close()
	// An embedded file (and an os.File) can seek: ranges and HEAD are
	// served from it. Another file system's file is read for the request.
	content, ok := file.(io.ReadSeeker)
	if !ok {
		body, err := io.ReadAll(file)
		if err != nil {
			http.Error(w, "web client file unavailable", http.StatusInternalServerError)
			return
		}
		content = bytes.NewReader(body)
	}
	http.ServeContent(w, r, name, time.Time{}, content)
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
