package store

import (
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/usage"
)

// TestMigrationsMatch: every migration exists for both databases under
// the same number and name, numbered 1, 2, 3, ... without gaps, each a
// goose Up migration.
func TestMigrationsMatch(t *testing.T) {
	names := map[string][]string{}
	for _, d := range []*dialect{sqliteDialect, postgresDialect} {
		files, err := fs.Glob(d.migrations(), "*.sql")
		if err != nil || len(files) == 0 {
			t.Fatalf("%s migrations: %v, %v", d.Name(), files, err)
		}
		for i, f := range files {
			if want := i + 1; !strings.HasPrefix(f, fmt.Sprintf("%04d_", want)) {
				t.Errorf("%s migration %s: want number %04d (in order, no gaps)", d.Name(), f, want)
			}
			body, _ := fs.ReadFile(d.migrations(), f)
			if !strings.HasPrefix(string(body), "-- +goose Up\n") {
				t.Errorf("%s/%s does not start with -- +goose Up", d.Name(), f)
			}
		}
		names[d.Name()] = files
	}
	for _, f := range names["sqlite"] {
		if !slices.Contains(names["postgres"], f) {
			t.Errorf("migrations/sqlite/%s has no migrations/postgres/%s", f, f)
		}
	}
	for _, f := range names["postgres"] {
		if !slices.Contains(names["sqlite"], f) {
			t.Errorf("migrations/postgres/%s has no migrations/sqlite/%s", f, f)
		}
	}
}

// sqliteFile opens the SQLite database in dir with the plain driver,
// closed when t ends.
func sqliteFile(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "kaigi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// schemaColumns reads the tables and columns of s's schema.
func schemaColumns(t *testing.T, s *DB) map[string][]string {
	t.Helper()
	rows, err := s.db.Query(s.d.pick(`SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`,
		`SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		out[table] = append(out[table], column)
	}
	return out
}

// TestSchemasMatch: after the migrations, both databases have the same
// tables with the same columns in the same order (PostgreSQL's
// live_participants.rowid being SQLite's implicit rowid), and the same
// guards on the audit log.
func TestSchemasMatch(t *testing.T) {
	lite := schemaColumns(t, openBackend(t, "sqlite"))
	pg := openBackend(t, "postgres")
	pgCols := schemaColumns(t, pg)
	pgCols["live_participants"] = slices.DeleteFunc(pgCols["live_participants"], func(c string) bool { return c == "rowid" })
	if len(lite) < 10 {
		t.Fatalf("SQLite's schema is implausibly small: %v", lite)
	}
	for table, cols := range lite {
		if !slices.Equal(cols, pgCols[table]) {
			t.Errorf("%s: SQLite has %v, PostgreSQL %v", table, cols, pgCols[table])
		}
	}
	for table := range pgCols {
		if _, ok := lite[table]; !ok {
			t.Errorf("PostgreSQL has table %s, SQLite does not", table)
		}
	}
	var triggers []string
	rows, err := pg.db.Query(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal ORDER BY tgname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		rows.Scan(&n)
		triggers = append(triggers, n)
	}
	if want := []string{"audit_log_no_delete", "audit_log_no_truncate", "audit_log_no_update"}; !slices.Equal(triggers, want) {
		t.Errorf("PostgreSQL's audit_log triggers %v, want %v", triggers, want)
	}
}

// TestUpgradesAnExistingDataDirectory opens a database that the store of
// before goose made (testdata/v7-sqlite.db.gz: every migration to 0007
// applied by Kaigi's own runner, then an account with two-factor, a
// session, a scheduled meeting with a passcode and a ban, the
// organisation's policy, a day of usage, someone kept in a live meeting,
// two audit entries): everything reads back, the version records are
// kept as they were, and the schema is the one a new database gets.
func TestUpgradesAnExistingDataDirectory(t *testing.T) {
	dir := t.TempDir()
	unzip(t, "testdata/v7-sqlite.db.gz", filepath.Join(dir, "kaigi.db"))
	old := readVersions(t, dir)
	if len(old) != 7 {
		t.Fatalf("the fixture records %d migrations, want 7", len(old))
	}
	ctx := context.Background()
	s, err := OpenSQLite(ctx, dir, testSealer(t))
	if err != nil {
		t.Fatalf("opening a database made before goose: %v", err)
	}
	defer s.Close()

	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	u, err := s.UserByEmail(ctx, "ada@example.org")
	if err != nil || u.ID != "u-ada" || u.Role != auth.RoleAdmin || u.TOTPLastStep != 7 || !u.CreatedAt.Equal(t0) {
		t.Fatalf("account: %+v, %v", u, err)
	}
	if secret, err := s.sealer.Open(u.TOTPSecret, "totp:u-ada"); err != nil || string(secret) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("two-factor secret: %q, %v", secret, err)
	}
	if sessions, err := s.UserSessions(ctx, "u-ada"); err != nil || len(sessions) != 1 {
		t.Fatalf("sessions: %v, %v", sessions, err)
	}
	m, err := s.Meeting(ctx, "abcd-efgh-ijkm-npqr")
	if err != nil || m.Passcode != "123456789" || m.Title != "Planning" || !m.StartsAt.Equal(t0.Add(time.Hour)) || m.Duration != time.Hour {
		t.Fatalf("meeting: %+v, %v", m, err)
	}
	if bans, err := s.Bans(ctx, m.ID); err != nil || len(bans) != 1 || bans[0] != (meeting.Ban{Kind: meeting.BanDevice, Value: "dev-1"}) {
		t.Fatalf("bans: %v, %v", bans, err)
	}
	if got := lastUsed(t, s, string(m.ID)); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("last used %v", got)
	}
	if o, err := s.Org(ctx); err != nil || !o.Require2FA {
		t.Fatalf("org: %+v, %v", o, err)
	}
	if days, err := s.UsageDays(ctx, t0, t0); err != nil || len(days) != 1 || days[0] != (usage.Day{Date: "2026-05-04", Meetings: 1, Participants: 2, ParticipantSeconds: 60, MeetingSeconds: 30, PeakParticipants: 2}) {
		t.Fatalf("usage: %+v, %v", days, err)
	}
	if kept, err := s.KeptBefore(ctx, m.ID, "run-2"); err != nil || len(kept) != 1 || kept[0].Participant.Name != "Ada" {
		t.Fatalf("kept: %+v, %v", kept, err)
	}
	head, err := audit.VerifyAll(ctx, s, nil)
	if err != nil || head.Seq != 2 {
		t.Fatalf("audit log: head %v, %v", head, err)
	}
	// It goes on working: a new entry chains to the old ones.
	if _, err := s.AppendAudit(ctx, orgEntry("after the upgrade")); err != nil {
		t.Fatal(err)
	}
	if head, err := audit.VerifyAll(ctx, s, nil); err != nil || head.Seq != 3 {
		t.Fatalf("after appending: head %v, %v", head, err)
	}

	s.Close()
	if now := readVersions(t, dir); !slices.Equal(now[:len(old)], old) {
		t.Errorf("version records changed:\nbefore %v\nafter  %v", old, now)
	}
	fresh, _ := openTemp(t)
	if got, want := schemaSQL(t, dir), schemaSQL(t, dirOf(t, fresh)); !slices.Equal(got, want) {
		t.Errorf("the upgraded schema differs from a new one:\n%s\n---\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func unzip(t *testing.T, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, z); err != nil {
		t.Fatal(err)
	}
}

func dirOf(t *testing.T, s *DB) string {
	w, ok := opened.Load(s)
	if !ok {
		t.Fatal("not a test database")
	}
	return w.(where).dir
}

// readVersions reads schema_migrations as "version applied_at" lines.
func readVersions(t *testing.T, dir string) []string {
	t.Helper()
	s := sqliteFile(t, dir)
	rows, err := s.Query(`SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v, at string
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, v+" "+at)
	}
	return out
}

// schemaSQL reads the definitions of a SQLite database's tables, indexes
// and triggers, white space folded.
func schemaSQL(t *testing.T, dir string) []string {
	t.Helper()
	rows, err := sqliteFile(t, dir).Query(`SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	space := regexp.MustCompile(`\s+`)
	var out []string
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		out = append(out, space.ReplaceAllString(q, " "))
	}
	return out
}
