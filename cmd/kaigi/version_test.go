package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/server"
	"github.com/kaigi-meet/kaigi/web"
)

// TestVersionPrintsTheWebClientDigest: `kaigi version` prints the version
// and the digest that docs/operations.md's command computes from web/dist,
// the files this binary embedded.
func TestVersionPrintsTheWebClientDigest(t *testing.T) {
	var out bytes.Buffer
	if err := printVersion(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || lines[0] != "kaigi "+server.Version {
		t.Fatalf("kaigi version printed %q", out.String())
	}
	if _, err := os.Stat("../../web/dist/index.html"); err != nil {
		if lines[1] != "web client: not built into this binary" {
			t.Errorf("without a built client, the web line is %q", lines[1])
		}
		t.Skip("the web client is not built (make web); its digest is not checked")
	}
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum not installed")
	}
	cmd := exec.Command("sh", "-c", web.DigestCommand)
	cmd.Dir = "../../web/dist"
	sh, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", web.DigestCommand, err)
	}
	want, _, _ := strings.Cut(string(sh), " ")
	if !strings.HasPrefix(lines[1], "web client sha256: "+want+" (") {
		t.Errorf("kaigi version says %q; the command over web/dist says %s (was web/dist rebuilt after this test was compiled?)", lines[1], want)
	}
}
