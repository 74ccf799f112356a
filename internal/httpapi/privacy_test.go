package httpapi

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/store"
)

// TestPrivacyDescribesTheSchema: the privacy page describes every table
// and column the migrations create, as the real SQLite reports them after
// running them, and nothing that does not exist. A migration that adds a
// column fails here until privacy.go says what it holds, why and for how
// long.
func TestPrivacyDescribesTheSchema(t *testing.T) {
	dir := t.TempDir()
	sealer, _ := auth.NewSealer(make([]byte, 32))
	st, err := store.OpenSQLite(context.Background(), dir, sealer) // runs every migration
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "kaigi.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	schema := map[string][]string{} // table → columns
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, table := range tables {
		cols, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for cols.Next() {
			var c string
			if err := cols.Scan(&c); err != nil {
				t.Fatal(err)
			}
			schema[table] = append(schema[table], c)
		}
		cols.Close()
	}
	if len(schema) < 5 || len(schema["users"]) < 5 {
		t.Fatalf("the schema read back is implausibly small: %v", schema)
	}

	described := map[string]map[string]bool{}
	for _, pt := range privacyTables {
		if described[pt.Table] != nil {
			t.Errorf("table %s is described twice", pt.Table)
		}
		described[pt.Table] = map[string]bool{}
		if pt.Title == "" || pt.Why == "" || pt.Kept == "" {
			t.Errorf("table %s: its title, why or how long it is kept is missing", pt.Table)
		}
		for _, c := range pt.Columns {
			if described[pt.Table][c.Column] {
				t.Errorf("column %s.%s is described twice", pt.Table, c.Column)
			}
			described[pt.Table][c.Column] = true
			if strings.TrimSpace(c.What) == "" {
				t.Errorf("column %s.%s: what it holds is not said", pt.Table, c.Column)
			}
		}
	}
	for table, cols := range schema {
		if described[table] == nil {
			t.Errorf("the migrations create table %s, which the privacy page does not describe: add it to privacyTables in internal/httpapi/privacy.go (what it holds, why, for how long)", table)
			continue
		}
		for _, c := range cols {
			if !described[table][c] {
				t.Errorf("the migrations create column %s.%s, which the privacy page does not describe: add it in internal/httpapi/privacy.go", table, c)
			}
		}
	}
	for table, cols := range described {
		if schema[table] == nil {
			t.Errorf("the privacy page describes table %s, which the database does not have", table)
			continue
		}
		for c := range cols {
			if !slices.Contains(schema[table], c) {
				t.Errorf("the privacy page describes column %s.%s, which the database does not have", table, c)
			}
		}
	}
}

// storageKey finds the names the web client stores things under: whole
// string literals "kaigi.…" (localStorage and sessionStorage keys, or
// their prefixes) and "kaigi-…" without a dot (IndexedDB databases; a
// file name such as "kaigi-recovery-codes.txt" is not one).
var storageKey = regexp.MustCompile("[\"'`](kaigi(?:\\.[A-Za-z0-9_.]*|-[A-Za-z0-9_-]*))[\"'`]")

// TestPrivacyDescribesBrowserStorage: every storage key in web/src is on
// the privacy page, and every key the page names is still used.
func TestPrivacyDescribesBrowserStorage(t *testing.T) {
	src := filepath.Join("..", "..", "web", "src")
	used := map[string]string{} // key → file
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".ts") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range storageKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = p
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(used) < 5 {
		t.Fatalf("found only %v in %s: the pattern no longer matches how keys are written", used, src)
	}
	described := map[string]bool{}
	for _, b := range privacyBrowser {
		described[b.Key] = true
		if b.What == "" || b.Kept == "" || !slices.Contains([]string{"cookie", "localStorage", "sessionStorage", "IndexedDB"}, b.Where) {
			t.Errorf("browser item %+v is incomplete", b)
		}
	}
	for key, file := range used {
		if !described[key] {
			t.Errorf("%s stores %q in the browser, which the privacy page does not describe: add it to privacyBrowser in internal/httpapi/privacy.go", file, key)
		}
	}
	for _, b := range privacyBrowser {
		if b.Where != "cookie" && used[b.Key] == "" {
			t.Errorf("the privacy page describes %s %q, which web/src no longer uses", b.Where, b.Key)
		}
	}
	for _, c := range []string{SessionCookie, DeviceCookie} {
		if !described[c] {
			t.Errorf("the cookie %q is not described", c)
		}
	}
}

// TestPrivacyAndAboutOverHTTP: both pages are served to anyone, the
// privacy answer names the organisation from its settings and the outside
// servers configured, and the about answer carries the version and the
// web client's digest as defined in web/embed.go, computed here by hand.
func TestPrivacyAndAboutOverHTTP(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	admin, err := env.accounts.CreateFromCommandLine(ctx, "admin@example.org", "Admin", "a long enough password", auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	org, _ := env.accounts.Org(ctx)
	org.Name = "Example Town Council"
	if err := env.accounts.UpdateOrg(ctx, admin, org); err != nil {
		t.Fatal(err)
	}
	h := New(Options{Meetings: env.db, Accounts: env.accounts, Signal: http.NotFoundHandler(), Web: testWeb, Logger: env.log,
		Version: "9.8.7", ICEServerURLs: []string{"stun:stun.example.net:3478", "turn:stun.example.net:3478?transport=tcp", "turns:[2001:db8::1]:5349"}})

	for _, path := range []string{"/privacy", "/about"} {
		rec := do(h, "GET", path, nil)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<!doctype html>") {
			t.Errorf("GET %s: %d %q, want the web client's page", path, rec.Code, rec.Body.String())
		}
	}

	rec := do(h, "GET", "/api/privacy", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/privacy: %d %s", rec.Code, rec.Body.String())
	}
	var p privacyReport
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Organisation != "Example Town Council" {
		t.Errorf("organisation = %q, want the name from the organisation's settings", p.Organisation)
	}
	if want := []string{"stun.example.net", "2001:db8::1"}; !slices.Equal(p.ThirdParties, want) {
		t.Errorf("third parties = %q, want %q", p.ThirdParties, want)
	}
	if len(p.Tables) != len(privacyTables) || len(p.Browser) != len(privacyBrowser) || p.Logs.Never == "" {
		t.Errorf("the answer lacks parts of the description: %d tables, %d browser items", len(p.Tables), len(p.Browser))
	}

	rec = do(h, "GET", "/api/about", nil)
	var a aboutInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &a); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("GET /api/about: %d %v", rec.Code, err)
	}
	var names []string
	for name := range testWeb {
		if !strings.HasPrefix(filepath.Base(name), ".") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var list strings.Builder
	for _, name := range names {
		sum := sha256.Sum256(testWeb[name].Data)
		fmt.Fprintf(&list, "%x  %s\n", sum, name)
	}
	sum := sha256.Sum256([]byte(list.String()))
	if want := hex.EncodeToString(sum[:]); a.WebClient.SHA256 != want || a.WebClient.Files != len(names) {
		t.Errorf("about: web client %s (%d files), want %s (%d files)", a.WebClient.SHA256, a.WebClient.Files, want, len(names))
	}
	if a.Version != "9.8.7" || a.WebClient.Command == "" || a.Build.Go == "" || !slices.ContainsFunc(a.Links, func(l aboutLinkTo) bool { return l.Href == "/privacy" }) {
		t.Errorf("about = %+v", a)
	}

	// The public answers need no session and change nothing.
	for _, path := range []string{"/api/privacy", "/api/about"} {
		if rec := do(h, "POST", path, nil); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", path, rec.Code)
		}
	}
}
