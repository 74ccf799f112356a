package store

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/pgtest"
)

func testSealer(t *testing.T) *auth.Sealer {
	t.Helper()
	s, err := auth.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMeetingRoundTrip(t *testing.T) { eachBackend(t, testMeetingRoundTrip) }

func testMeetingRoundTrip(t *testing.T, s *DB) {
	ctx := context.Background()
	u := auth.User{ID: "u1", Email: "ada@example.org", Name: "Ada", Role: auth.RoleAdmin, PasswordHash: "x", CreatedAt: time.Now()}
	if err := s.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	rec := meeting.Record{
		ID: meeting.NewID(), Kind: meeting.KindScheduled, Title: "Planning", OwnerID: "u1",
		StartsAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Duration: time.Hour,
		Settings: meeting.DefaultSettings(), Passcode: "123456789",
		CreatedAt: time.Date(2026, 11, 25, 9, 30, 0, 123, time.UTC),
	}
	if ok, err := s.MeetingExists(ctx, rec.ID); err != nil || ok {
		t.Fatalf("MeetingExists before create = %v, %v", ok, err)
	}
	if _, err := s.Meeting(ctx, rec.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Meeting before create = %v, want ErrNotFound", err)
	}
	if err := s.CreateMeeting(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Meeting(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != rec.ID || got.Kind != rec.Kind || got.Title != rec.Title || got.OwnerID != rec.OwnerID ||
		!got.StartsAt.Equal(rec.StartsAt) || got.Duration != rec.Duration || got.Settings != rec.Settings ||
		got.Passcode != rec.Passcode || !got.CreatedAt.Equal(rec.CreatedAt) {
		t.Fatalf("Meeting = %+v\nwant      %+v", got, rec)
	}
	if err := s.CreateMeeting(ctx, rec); err == nil {
		t.Fatal("creating the same meeting twice succeeded")
	}

	// The passcode is not stored in the clear.
	var raw []byte
	s.db.QueryRow(`SELECT passcode FROM meetings WHERE id = ?`, string(rec.ID)).Scan(&raw)
	if len(raw) == 0 || string(raw) == rec.Passcode || containsBytes(raw, []byte(rec.Passcode)) {
		t.Fatalf("passcode stored as %q", raw)
	}

	rec.Settings.Locked, rec.Title = true, "Planning (moved)"
	if err := s.UpdateMeeting(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Meeting(ctx, rec.ID); !got.Settings.Locked || got.Title != "Planning (moved)" {
		t.Fatalf("after update: %+v", got)
	}
	personal := meeting.Record{ID: meeting.NewID(), Kind: meeting.KindPersonal, OwnerID: "u1", Settings: meeting.DefaultSettings(), CreatedAt: time.Now()}
	if err := s.CreateMeeting(ctx, personal); err != nil {
		t.Fatal(err)
	}
	second := personal
	second.ID = meeting.NewID()
	if err := s.CreateMeeting(ctx, second); err == nil {
		t.Fatal("a second personal room was created")
	}
	list, err := s.MeetingsOwnedBy(ctx, "u1")
	if err != nil || len(list) != 2 || list[0].Kind != meeting.KindPersonal {
		t.Fatalf("MeetingsOwnedBy = %+v, %v", list, err)
	}
	if p, err := s.PersonalMeeting(ctx, "u1"); err != nil || p.ID != personal.ID {
		t.Fatalf("PersonalMeeting = %+v, %v", p, err)
	}

	bans := []meeting.Ban{{Kind: meeting.BanDevice, Value: "d1"}, {Kind: meeting.BanAddress, Value: "203.0.113.1"}}
	if err := s.AddBans(ctx, rec.ID, append(bans, bans[0])); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Bans(ctx, rec.ID); err != nil || len(got) != 2 {
		t.Fatalf("Bans = %v, %v", got, err)
	}
}

func containsBytes(haystack, needle []byte) bool {
	for i := 0; i+len(needle) <= len(haystack); i++ {
		if string(haystack[i:i+len(needle)]) == string(needle) {
			return true
		}
	}
	return false
}

func TestAccounts(t *testing.T) { eachBackend(t, testAccounts) }

func testAccounts(t *testing.T, s *DB) {
	ctx := context.Background()
	u := auth.User{ID: "u1", Email: "ada@example.org", Name: "Ada", Role: auth.RoleMember, PasswordHash: "h", CreatedAt: time.Now()}
	if err := s.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	dup := u
	dup.ID = "u2"
	if err := s.CreateUser(ctx, dup, nil); !errors.Is(err, auth.ErrEmailTaken) {
		t.Fatalf("duplicate e-mail = %v", err)
	}
	if _, err := s.UserByEmail(ctx, "bob@example.org"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("unknown e-mail = %v", err)
	}
	u.TOTPSecret, u.TOTPLastStep = []byte("sealed"), 42
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, "u1")
	if err != nil || string(got.TOTPSecret) != "sealed" || got.TOTPLastStep != 42 {
		t.Fatalf("UserByID = %+v, %v", got, err)
	}

	now := time.Now().UTC()
	sess := auth.Session{Hash: []byte("h1"), UserID: "u1", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SessionByHash(ctx, []byte("h1")); err != nil || got.UserID != "u1" || !got.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("SessionByHash = %+v, %v", got, err)
	}
	s.CreateSession(ctx, auth.Session{Hash: []byte("h2"), UserID: "u1", CreatedAt: now, LastSeen: now, ExpiresAt: now})
	if err := s.DeleteUserSessions(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, []byte("h2")); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("session after sign-out everywhere = %v", err)
	}

	if err := s.ReplaceRecoveryCodes(ctx, "u1", [][]byte{[]byte("c1"), []byte("c2")}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u1", []byte("c1")); !ok {
		t.Fatal("first use of a code refused")
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u1", []byte("c1")); ok {
		t.Fatal("second use of a code accepted")
	}
	if n, _ := s.RecoveryCodesLeft(ctx, "u1"); n != 1 {
		t.Fatalf("codes left = %d", n)
	}

	o, err := s.Org(ctx)
	if err != nil || o.Require2FA || o.MeetingDefaults != meeting.DefaultSettings() {
		t.Fatalf("default org = %+v, %v", o, err)
	}
	o.Require2FA, o.AllowSignUp = true, true
	if err := s.SetOrg(ctx, o, audit.Entry{Time: time.Now(), ActorKind: audit.ActorUser, ActorID: "u1",
		Action: audit.OrgPolicyChanged, SubjectKind: audit.SubjectOrg}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Org(ctx); !got.Require2FA || !got.AllowSignUp {
		t.Fatalf("org after set = %+v", got)
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) { eachBackend(t, testReopenKeepsDataAndSchema) }

func testReopenKeepsDataAndSchema(t *testing.T, first *DB) {
	ctx := context.Background()
	id := meeting.NewID()
	if err := first.CreateMeeting(ctx, meeting.Record{ID: id, Kind: meeting.KindInstant, Settings: meeting.DefaultSettings(), Passcode: "1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	first.Close()

	s, err := reopen(t, first, testSealer(t))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if m, err := s.Meeting(ctx, id); err != nil || m.Passcode != "1" {
		t.Fatalf("meeting lost across reopen: %+v %v", m, err)
	}
	files, err := fs.Glob(s.d.migrations(), "*.sql")
	if err != nil || len(files) < 3 {
		t.Fatalf("embedded migrations: %v, %v", files, err)
	}
	var n, first1, last int
	if err := s.db.QueryRow(`SELECT COUNT(*), MIN(version), MAX(version) FROM schema_migrations`).Scan(&n, &first1, &last); err != nil ||
		n != len(files) || first1 != 1 || last != len(files) {
		t.Fatalf("schema_migrations has %d rows (%d..%d), %v; want each of the %d migrations once", n, first1, last, err, len(files))
	}
	if s.Dialect() == "sqlite" {
		var mode string
		if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q, %v", mode, err)
		}
	}
}

// TestLegacyMeetingsStayOpen: a meeting created before accounts existed
// keeps working as it did: no passcode, no waiting room.
func TestLegacyMeetingsStayOpen(t *testing.T) { eachBackend(t, testLegacyMeetingsStayOpen) }

func testLegacyMeetingsStayOpen(t *testing.T, s *DB) {
	ctx := context.Background()
	id := meeting.NewID()
	if _, err := s.db.Exec(`INSERT INTO meetings (id, created_at) VALUES (?, ?)`, string(id), formatTime(time.Now())); err != nil {
		t.Fatal(err)
	}
	m, err := s.Meeting(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Settings.Passcode || m.Settings.WaitingRoom || !m.Settings.JoinBeforeHost || m.Settings.Validate() != nil {
		t.Fatalf("legacy settings %+v", m.Settings)
	}
}

func TestOpenFailsOnMissingDirectory(t *testing.T) {
	_, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir"), testSealer(t))
	if err == nil {
		t.Fatal("opened a database in a directory that does not exist")
	}
}

// TestOpenFailsOnMissingPostgresDatabase: a URL naming no database fails
// to open, and the error does not repeat the password.
func TestOpenFailsOnMissingPostgresDatabase(t *testing.T) {
	pgtest.NewDatabase(t) // skips without PostgreSQL
	u := strings.Replace(pgtest.Running().URL("no_such_database"), "kaigi@", "kaigi:hunter2-secret@", 1)
	_, err := OpenPostgres(context.Background(), u, testSealer(t))
	if err == nil {
		t.Fatal("opened a database that does not exist")
	}
	if strings.Contains(err.Error(), "hunter2-secret") {
		t.Fatalf("the error repeats the password: %v", err)
	}
	if _, err := Open(context.Background(), "mysql://x", t.TempDir(), nil); err == nil {
		t.Fatal("Open accepted a database URL that is not PostgreSQL's")
	}
}

func TestUseTOTPStepOnlyMovesForward(t *testing.T) { eachBackend(t, testUseTOTPStepOnlyMovesForward) }

func testUseTOTPStepOnlyMovesForward(t *testing.T, s *DB) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, auth.User{ID: "u1", Email: "ada@example.org", Name: "Ada", Role: auth.RoleMember, PasswordHash: "h", TOTPLastStep: 10, CreatedAt: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		step int64
		want bool
	}{{10, false}, {9, false}, {11, true}, {11, false}, {13, true}, {12, false}} {
		if got, err := s.UseTOTPStep(ctx, "u1", tt.step); err != nil || got != tt.want {
			t.Fatalf("UseTOTPStep(%d) = %v, %v; want %v", tt.step, got, err, tt.want)
		}
	}
	if u, _ := s.UserByID(ctx, "u1"); u.TOTPLastStep != 13 {
		t.Fatalf("last step = %d, want 13", u.TOTPLastStep)
	}
	if ok, err := s.UseTOTPStep(ctx, "nobody", 99); ok || err != nil {
		t.Fatalf("unknown account = %v, %v", ok, err)
	}
}

// TestConcurrentOpensMigrateOnce: a server and a `kaigi admin` command
// opening one fresh (or just upgraded) SQLite database at once both get
// it, migrated once: without the migration lock, one in three failed with
// "table meetings already exists".
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	for round := range 5 {
		dir := t.TempDir()
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := OpenSQLite(context.Background(), dir, nil)
				if err == nil {
					db.Close()
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}
