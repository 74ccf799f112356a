package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestAuditCommands: the operator's account creations are in the log;
// `audit verify` passes and `audit head` prints the head; after someone
// edits a middle entry in the database (dropping the guard first), verify
// fails naming it; a published head that the log no longer reaches fails
// too; `audit list` prints entries; a directory without a database is
// refused rather than verified empty.
func TestAuditCommands(t *testing.T) {
	dir := t.TempDir()
	for _, email := range []string{"ada@example.org", "bob@example.org", "cy@example.org"} {
		var out, errOut bytes.Buffer
		if err := admin([]string{"create-user", "--data", dir, "--email", email, "--name", "X"},
			strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
			t.Fatalf("create-user: %v (%s)", err, errOut.String())
		}
	}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := auditCmd(args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := run("verify", "--data", dir)
	if err != nil || !strings.Contains(out, "verified: 3 entries") {
		t.Fatalf("verify: %q, %v", out, err)
	}
	head, err := run("head", "--data", dir)
	head = strings.TrimSpace(head)
	if err != nil || !strings.HasPrefix(head, "3:") || len(head) != 2+64 {
		t.Fatalf("head: %q, %v", head, err)
	}
	if out, err := run("verify", "--data", dir, "--head", head); err != nil || !strings.Contains(out, "is in the log") {
		t.Fatalf("verify --head: %q, %v", out, err)
	}
	if _, err := run("list", "--data", dir); err == nil {
		t.Fatal("the operator read the log without giving a reason")
	}
	if out, err := run("list", "--data", dir, "--reason", "a\tb"); err == nil || strings.Contains(out, "user.created") {
		t.Fatalf("a refused reason still printed the log: %q, %v", out, err)
	}
	out, err = run("list", "--data", dir, "--reason", "monthly review")
	if err != nil || strings.Count(out, "user.created") != 3 || !strings.Contains(out, "operator") {
		t.Fatalf("list: %q, %v", out, err)
	}
	// That read is now entry 4, the operator's, with its reason and count.
	out, err = run("list", "--data", dir, "--after", "2", "--json", "--reason", "check")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"seq":3`) ||
		!strings.Contains(out, `"action":"operator.read","subjectKind":"server","reason":"monthly review","details":{"records":"3","what":"audit log"}`) {
		t.Fatalf("list --json --after 2: %q, %v", out, err)
	}

	if _, err := run("verify", "--data", dir, "--head", "9:"+strings.Repeat("ab", 32)); err == nil {
		t.Error("a head beyond the log's end verified")
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "kaigi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET details = '{"role":"admin"}' WHERE seq = 2`} {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := run("verify", "--data", dir); err == nil || !strings.Contains(err.Error(), "entry 2") {
		t.Fatalf("verify after editing entry 2: %v", err)
	}

	for _, args := range [][]string{{"verify", "--data", t.TempDir()}, {"verify", "--head", "x"}, {"rewrite"}, {"head", "stray"}} {
		if _, err := run(args...); err == nil {
			t.Errorf("audit %v succeeded", args)
		}
	}
}

// TestAdminAccountCommands: the operator suspends, reinstates, resets the
// two-factor of and deletes accounts by e-mail; a reason is required
// where the owner is shown one; each lands in the audit log as the
// operator's, and the chain verifies.
func TestAdminAccountCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) error {
		var out, errOut bytes.Buffer
		return admin(append(args, "--data", dir), strings.NewReader("correct horse battery\n"), &out, &errOut)
	}
	for _, email := range []string{"ada@example.org", "bob@example.org"} {
		if err := run("create-user", "--email", email, "--name", "X"); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"suspend-user", "--email", "bob@example.org"},
		{"suspend-user", "--email", "nobody@example.org", "--reason", "x"},
		{"suspend-user", "--email", "ada@example.org", "--reason", "the last admin"},
		{"reset-2fa", "--email", "bob@example.org", "--reason", "two-factor is off"},
		{"delete-user", "--email", "bob@example.org"},
		{"suspend-user", "--reason", "no e-mail"},
	} {
		if err := run(args...); err == nil {
			t.Errorf("admin %v succeeded", args)
		}
	}
	for _, args := range [][]string{
		{"suspend-user", "--email", "bob@example.org", "--reason", "audit"},
		{"reinstate-user", "--email", "bob@example.org"},
		{"delete-user", "--email", "bob@example.org", "--reason", "left"},
	} {
		if err := run(args...); err != nil {
			t.Fatalf("admin %v: %v", args, err)
		}
	}
	var out bytes.Buffer
	if err := auditCmd([]string{"list", "--data", dir, "--json", "--reason", "test"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"action":"user.suspended","subjectKind":"user"`, `"action":"user.reinstated"`, `"action":"user.deleted"`, `"reason":"audit"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("audit list lacks %s:\n%s", want, out.String())
		}
	}
	if strings.Count(out.String(), `"actorKind":"operator"`) != 5 {
		t.Errorf("not every entry is the operator's:\n%s", out.String())
	}
	if err := auditCmd([]string{"verify", "--data", dir}, &out, &out); err != nil {
		t.Fatal(err)
	}
}

// TestLegalRequestCommand: the operator records legal requests by kind
// and outcome with a note; unknown kinds or outcomes, or no note, are
// refused; they land in the audit log as the operator's.
func TestLegalRequestCommand(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) error {
		var out, errOut bytes.Buffer
		return admin(append([]string{"legal-request", "--data", dir}, args...), strings.NewReader(""), &out, &errOut)
	}
	for _, bad := range [][]string{
		{"--kind", "user_data", "--outcome", "refused"},
		{"--kind", "gossip", "--outcome", "refused", "--reason", "x"},
		{"--kind", "user_data", "--outcome", "maybe", "--reason", "x"},
	} {
		if err := run(bad...); err == nil {
			t.Errorf("legal-request %v succeeded", bad)
		}
	}
	if err := run("--kind", "user_data", "--outcome", "refused", "--reason", "Police request ref 123, no legal basis"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := auditCmd([]string{"list", "--data", dir, "--json", "--reason", "test"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"action":"legal.request"`) || !strings.Contains(out.String(), `"outcome":"refused"`) || !strings.Contains(out.String(), `"actorKind":"operator"`) {
		t.Fatalf("audit list: %s", out.String())
	}
}

// TestOperatorListsUsers: the operator's read of the accounts needs a
// reason and is recorded (operator.read, with the count), before the list
// is printed.
func TestOperatorListsUsers(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := admin([]string{"create-user", "--data", dir, "--email", "ada@example.org", "--name", "Ada"}, strings.NewReader("correct horse battery\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := admin([]string{"list-users", "--data", dir}, strings.NewReader(""), &out, &errOut); err == nil {
		t.Fatal("listed accounts without a reason")
	}
	out.Reset()
	if err := admin([]string{"list-users", "--data", dir, "--json", "--reason", "licence count"}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"email":"ada@example.org"`) || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("list-users: %q", out.String())
	}
	out.Reset()
	if err := auditCmd([]string{"list", "--data", dir, "--json", "--reason", "check"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"action":"operator.read","subjectKind":"server","reason":"licence count","details":{"records":"1","what":"accounts"}`) {
		t.Fatalf("the read is not recorded: %s", out.String())
	}
}

// TestTransparencyCommand: the operator's report lists every published
// category with its count, the legal request recorded among them.
func TestTransparencyCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := admin([]string{"legal-request", "--data", dir, "--kind", "takedown", "--outcome", "refused", "--reason", "ref 9"}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := admin([]string{"transparency", "--data", dir}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "the chain verifies") || strings.Count(out.String(), "\n") < 12 || !regexp.MustCompile(`Legal requests received by the operator +1 +1`).MatchString(out.String()) {
		t.Fatalf("transparency: %s", out.String())
	}
	if strings.Contains(out.String(), "ref 9") {
		t.Error("the report shows a reason")
	}
}
