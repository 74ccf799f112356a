package web

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestDigestMatchesTheShellCommand: the documented command, run in a tree
// laid out to catch the usual mistakes (a directory sorting before a file
// that starts with the same name, a dot-file left out, a space in a name,
// an empty file), prints the same digest as Digest.
func TestDigestMatchesTheShellCommand(t *testing.T) {
	for _, tool := range []string{"sh", "find", "sort", "xargs", "sha256sum", "cut"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	dir := t.TempDir()
	files := map[string]string{
		"index.html":             "<!doctype html>",
		"assets/blur-worker.js":  "worker",
		"assets/blur/model.wasm": "\x00asm\x01",
		"assets/blur/loader.js":  "loader",
		"assets/app.js":          "app",
		"assets/a b.css":         "body{}",
		"assets/Z.svg":           "<svg/>",
		"empty.txt":              "",
		".gitkeep":               "",
		"assets/.hidden":         "not served",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, n, err := Digest(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if n != len(files)-2 {
		t.Errorf("Digest covered %d files, want %d (all but the two dot-files)", n, len(files)-2)
	}
	cmd := exec.Command("sh", "-c", DigestCommand)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", DigestCommand, err)
	}
	want, _, _ := strings.Cut(string(out), " ")
	if got != want {
		t.Fatalf("Digest = %s, the shell command says %s", got, want)
	}
}

// TestDigestChangesWithWhatIsServed: a changed byte, a renamed file or
// another file changes the digest; a dot-file does not (it is not served).
func TestDigestChangesWithWhatIsServed(t *testing.T) {
	base := fstest.MapFS{
		"index.html":    {Data: []byte("<!doctype html>")},
		"assets/app.js": {Data: []byte("console.log(1)")},
	}
	digest := func(fsys fstest.MapFS) string {
		t.Helper()
		d, _, err := Digest(fsys)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	clone := func() fstest.MapFS {
		c := fstest.MapFS{}
		for k, v := range base {
			c[k] = &fstest.MapFile{Data: append([]byte(nil), v.Data...)}
		}
		return c
	}
	orig := digest(base)
	if again := digest(clone()); again != orig {
		t.Fatalf("the same files give %s and %s", orig, again)
	}
	changed := clone()
	changed["assets/app.js"].Data[12] = '2'
	renamed := clone()
	renamed["assets/main.js"] = renamed["assets/app.js"]
	delete(renamed, "assets/app.js")
	added := clone()
	added["assets/extra.css"] = &fstest.MapFile{Data: nil}
	for name, fsys := range map[string]fstest.MapFS{"a changed byte": changed, "a renamed file": renamed, "an added file": added} {
		if digest(fsys) == orig {
			t.Errorf("%s leaves the digest unchanged", name)
		}
	}
	dotted := clone()
	dotted[".gitkeep"] = &fstest.MapFile{Data: []byte("x")}
	if digest(dotted) != orig {
		t.Errorf("a dot-file, which is not served, changes the digest")
	}
	bad := clone()
	bad[`assets/a\b.js`] = &fstest.MapFile{Data: nil}
	if _, _, err := Digest(bad); err == nil {
		t.Errorf("a path with a backslash was accepted")
	}
}
