package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestAdminRotateKey: rotate-key needs a reason and a database, replaces
// secret.key, says which keys and that known devices are forgotten,
// records the operator's entry with both fingerprints (the chain still
// verifies), and refuses while something holds the key.
func TestAdminRotateKey(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := admin([]string{"rotate-key", "--data", dir, "--reason", "x"}, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no Kaigi database") {
		t.Fatalf("rotate-key without a database: %v", err)
	}
	if err := admin([]string{"create-user", "--data", dir, "--email", "ada@example.org", "--name", "Ada"},
		strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatalf("create-user: %v (%s)", err, errOut.String())
	}
	if err := admin([]string{"rotate-key", "--data", dir}, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Fatalf("rotate-key without a reason: %v", err)
	}
	held, err := auth.LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = admin([]string{"rotate-key", "--data", dir, "--reason", "yearly"}, nil, &out, &errOut)
	held.Close()
	if err == nil || !strings.Contains(err.Error(), "stop the server") {
		t.Fatalf("rotate-key while the key is held: %v", err)
	}

	oldKey, _ := os.ReadFile(filepath.Join(dir, "secret.key"))
	old, _ := auth.NewSealer(oldKey)
	out.Reset()
	if err := admin([]string{"rotate-key", "--data", dir, "--reason", "yearly"}, nil, &out, &errOut); err != nil {
		t.Fatalf("rotate-key: %v (%s)", err, errOut.String())
	}
	newKey, _ := os.ReadFile(filepath.Join(dir, "secret.key"))
	next, _ := auth.NewSealer(newKey)
	if bytes.Equal(oldKey, newKey) {
		t.Fatal("secret.key is unchanged")
	}
	for _, want := range []string{"recorded as audit entry 2", "old key fingerprint: " + old.Fingerprint(), "new key fingerprint: " + next.Fingerprint(),
		"re-sealed: 0 values", "Known devices are forgotten", "Back up the new secret.key"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	var vout, verr bytes.Buffer
	if err := auditCmd([]string{"verify", "--data", dir}, &vout, &verr); err != nil {
		t.Fatalf("audit verify after the rotation: %v (%s)", err, verr.String())
	}
	db, err := store.OpenSQLite(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e, ok, err := db.LatestAudit(context.Background(), audit.KeyRotated)
	if err != nil || !ok || e.ActorKind != audit.ActorOperator || e.Reason != "yearly" ||
		e.Details["oldKey"] != old.Fingerprint() || e.Details["newKey"] != next.Fingerprint() {
		t.Fatalf("entry %+v, %v, %v", e, ok, err)
	}
}
