package auth_test

import (
	"bytes"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/store"
	_ "modernc.org/sqlite"
)

// keyed is a data directory opened as the server opens it (the key from
// secret.key, the lock held until close).
type keyed struct {
	sealer *auth.Sealer
	db     *store.SQLite
	svc    *auth.Service
	clock  *clock
}

func openKeyed(t *testing.T, dir string) *keyed {
	t.Helper()
	sealer, err := auth.LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.OpenSQLite(ctx, dir, sealer)
	if err != nil {
		sealer.Close()
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	svc := auth.NewService(auth.Options{Store: db, Sealer: sealer, Now: c.now,
		Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	k := &keyed{sealer: sealer, db: db, svc: svc, clock: c}
	t.Cleanup(k.close)
	return k
}

func (k *keyed) close() {
	k.db.Close()
	k.sealer.Close()
}

// sealedData is what a data directory holds sealed: Ada's confirmed
// two-factor secret, Bob's unconfirmed one, a meeting's passcode.
type sealedData struct {
	ada, bob         auth.User
	adaTOTP, bobTOTP string
	device           string // Ada's known-device cookie
}

func makeSealedData(t *testing.T, dir string) sealedData {
	t.Helper()
	k := openKeyed(t, dir)
	defer k.close()
	var d sealedData
	d.ada, _, _ = k.svc.SignUp(ctx, "ada@example.org", "Ada", pw, "10.0.0.1")
	e, err := k.svc.BeginTOTP(ctx, d.ada)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := auth.TOTPCode(e.Secret, k.clock.now())
	if _, err := k.svc.ConfirmTOTP(ctx, d.ada, code); err != nil {
		t.Fatal(err)
	}
	d.adaTOTP = e.Secret
	k.clock.advance(time.Minute)
	res, err := k.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	code, _ = auth.TOTPCode(d.adaTOTP, k.clock.now())
	done, err := k.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.1")
	if err != nil || done.Device == "" {
		t.Fatalf("sign-in: %+v, %v", done, err)
	}
	d.device = done.Device
	if d.ada, err = k.svc.UserByEmail(ctx, "ada@example.org"); err != nil {
		t.Fatal(err)
	}
	if !auth.KnownDevice(k.svc, d.ada, d.device) {
		t.Fatal("the browser is not known right after signing in")
	}
	d.bob, err = k.svc.CreateFromCommandLine(ctx, "bob@example.org", "Bob", pw, auth.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if e, err = k.svc.BeginTOTP(ctx, d.bob); err != nil {
		t.Fatal(err)
	}
	d.bobTOTP = e.Secret
	err = k.db.CreateMeeting(ctx, meeting.Record{ID: "pass-code", Kind: meeting.KindInstant, CreatedAt: time.Now(),
		Settings: meeting.DefaultSettings(), Passcode: "123456789"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkSealedData: every sealed value still serves its purpose.
func checkSealedData(t *testing.T, k *keyed, d sealedData) {
	t.Helper()
	k.clock.advance(2 * time.Minute)
	res, err := k.svc.SignIn(ctx, "ada@example.org", pw, "10.0.0.1")
	if err != nil || res.Challenge == "" {
		t.Fatalf("Ada's password step: %+v, %v", res, err)
	}
	code, _ := auth.TOTPCode(d.adaTOTP, k.clock.now())
	if done, err := k.svc.SignInCode(ctx, res.Challenge, code, "10.0.0.1"); err != nil || done.Token == "" {
		t.Fatalf("Ada's two-factor code: %v", err)
	}
	code, _ = auth.TOTPCode(d.bobTOTP, k.clock.now())
	if _, err := k.svc.ConfirmTOTP(ctx, d.bob, code); err != nil {
		t.Fatalf("Bob's unconfirmed enrolment: %v", err)
	}
	m, err := k.db.Meeting(ctx, "pass-code")
	if err != nil || m.Passcode != "123456789" {
		t.Fatalf("meeting passcode: %q, %v", m.Passcode, err)
	}
}

func readKey(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// rawTOTP is Ada's sealed secret as the database holds it.
func rawTOTP(t *testing.T, dir, userID string) []byte {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "kaigi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b []byte
	if err := db.QueryRow(`SELECT totp_secret FROM users WHERE id = ?`, userID).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

func rotationEntries(t *testing.T, db *store.SQLite) []audit.Entry {
	t.Helper()
	all, err := db.AuditEntries(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, e := range all {
		if e.Action == audit.KeyRotated {
			out = append(out, e)
		}
	}
	if _, err := audit.VerifyAll(ctx, db, nil); err != nil {
		t.Fatalf("the audit log does not verify: %v", err)
	}
	return out
}

// rotate opens dir for rotation and rotates.
func rotate(t *testing.T, dir, reason string) (auth.KeyRotation, error) {
	t.Helper()
	s, err := auth.OpenSealerForRotation(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := store.OpenSQLite(ctx, dir, s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return auth.RotateKey(ctx, s, db, reason)
}

// TestRotateKeyResealsEverything: after a rotation, secret.key is a new
// key (0600, nothing left beside it), the old key opens nothing in the
// database and the new one does, two-factor sign-in, an unconfirmed
// enrolment and a meeting's passcode work as before, known devices are
// forgotten, and the operator's entry names both keys' fingerprints and
// verifies.
func TestRotateKeyResealsEverything(t *testing.T) {
	dir := t.TempDir()
	d := makeSealedData(t, dir)
	oldKey := readKey(t, dir)
	oldSealer, _ := auth.NewSealer(oldKey)

	rot, err := rotate(t, dir, "yearly rotation")
	if err != nil {
		t.Fatal(err)
	}
	newKey := readKey(t, dir)
	newSealer, _ := auth.NewSealer(newKey)
	if bytes.Equal(oldKey, newKey) || len(newKey) != 32 {
		t.Fatalf("secret.key was not replaced by a new 32-byte key")
	}
	if rot.Old != oldSealer.Fingerprint() || rot.New != newSealer.Fingerprint() || rot.Old == rot.New {
		t.Fatalf("rotation fingerprints %s → %s, want %s → %s", rot.Old, rot.New, oldSealer.Fingerprint(), newSealer.Fingerprint())
	}
	if fi, _ := os.Stat(filepath.Join(dir, "secret.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode %v, want 0600", fi.Mode().Perm())
	}
	for _, name := range []string{"secret.key.new", "secret.key.old"} {
		if exists(filepath.Join(dir, name)) {
			t.Errorf("%s left in the data directory", name)
		}
	}
	raw := rawTOTP(t, dir, d.ada.ID)
	if _, err := oldSealer.Open(raw, "totp:"+d.ada.ID); err == nil {
		t.Error("the old key still opens the stored two-factor secret")
	}
	if _, err := newSealer.Open(raw, "totp:"+d.ada.ID); err != nil {
		t.Errorf("the new key does not open the stored two-factor secret: %v", err)
	}

	k := openKeyed(t, dir)
	if k.sealer.Fingerprint() != rot.New {
		t.Fatalf("reopened with key %s, want %s", k.sealer.Fingerprint(), rot.New)
	}
	ada, _ := k.svc.UserByEmail(ctx, "ada@example.org")
	if auth.KnownDevice(k.svc, ada, d.device) {
		t.Error("a known-device token from before the rotation is still accepted")
	}
	checkSealedData(t, k, d)
	got := rotationEntries(t, k.db)
	if len(got) != 1 {
		t.Fatalf("%d rotation entries, want 1", len(got))
	}
	e := got[0]
	if e.ActorKind != audit.ActorOperator || e.SubjectKind != audit.SubjectServer || e.Reason != "yearly rotation" ||
		e.Details["oldKey"] != rot.Old || e.Details["newKey"] != rot.New || e.Details["resealed"] != "3" {
		t.Fatalf("entry: %+v", e)
	}
	for _, v := range e.Details {
		for _, key := range [][]byte{oldKey, newKey} {
			if strings.Contains(v, hex.EncodeToString(key)) || strings.Contains(v, string(key)) {
				t.Fatal("the entry holds a key")
			}
		}
	}
	k.close()
	if _, err := rotate(t, dir, ""); !errors.Is(err, auth.ErrReasonRequired) {
		t.Fatalf("rotation without a reason: %v", err)
	}
}

// TestRotationWaitsForKeyHolders: while a server or command holds the
// key, a rotation is refused at once (ErrKeyInUse); while a rotation
// holds the directory, loading the key waits until it is done.
func TestRotationWaitsForKeyHolders(t *testing.T) {
	dir := t.TempDir()
	k := openKeyed(t, dir)
	if _, err := auth.OpenSealerForRotation(dir); !errors.Is(err, auth.ErrKeyInUse) {
		t.Fatalf("rotation while the key is held: %v, want ErrKeyInUse", err)
	}
	k.close()
	r, err := auth.OpenSealerForRotation(dir)
	if err != nil {
		t.Fatalf("rotation once the key is released: %v", err)
	}
	loaded := make(chan error, 1)
	go func() {
		s, err := auth.LoadOrCreateSealer(dir)
		if err == nil {
			s.Close()
		}
		loaded <- err
	}()
	select {
	case err := <-loaded:
		t.Fatalf("the key was loaded during a rotation (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	r.Close()
	select {
	case err := <-loaded:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("loading the key did not go on after the rotation ended")
	}
}

// TestRotationCrashPoints: a rotation that dies after writing
// secret.key.new is rolled back by the next opener (the database never
// changed); one that dies after committing is finished (secret.key
// becomes the new key); a damaged secret.key.new is removed; a value the
// old key cannot open stops the rotation with nothing changed. In every
// case the data still opens.
func TestRotationCrashPoints(t *testing.T) {
	for _, tc := range []struct {
		name     string
		crash    string
		damage   bool // secret.key.new half written by hand instead
		finished bool
	}{
		{name: "after writing the new key", crash: "written"},
		{name: "after committing", crash: "committed", finished: true},
		{name: "half-written new key", damage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := makeSealedData(t, dir)
			oldKey := readKey(t, dir)
			var rot auth.KeyRotation
			if tc.damage {
				os.WriteFile(filepath.Join(dir, "secret.key.new"), []byte("half"), 0o600)
			} else {
				restore := auth.CrashRotationAt(tc.crash)
				var err error
				rot, err = rotate(t, dir, "crash test")
				restore()
				if err == nil {
					t.Fatal("the simulated crash did not stop the rotation")
				}
				if !exists(filepath.Join(dir, "secret.key.new")) || !bytes.Equal(readKey(t, dir), oldKey) {
					t.Fatal("the crash did not leave secret.key.new beside the old secret.key")
				}
			}
			k := openKeyed(t, dir)
			if exists(filepath.Join(dir, "secret.key.new")) {
				t.Error("secret.key.new is still there after the next start")
			}
			key := readKey(t, dir)
			switch {
			case tc.finished && (bytes.Equal(key, oldKey) || k.sealer.Fingerprint() != rot.New):
				t.Errorf("a committed rotation was not finished: key %s, want %s", k.sealer.Fingerprint(), rot.New)
			case !tc.finished && !bytes.Equal(key, oldKey):
				t.Error("a rotation that never committed replaced secret.key")
			}
			checkSealedData(t, k, d)
			want := 0
			if tc.finished {
				want = 1
			}
			if n := len(rotationEntries(t, k.db)); n != want {
				t.Errorf("%d rotation entries, want %d", n, want)
			}
		})
	}

	t.Run("a value the old key cannot open", func(t *testing.T) {
		dir := t.TempDir()
		makeSealedData(t, dir)
		oldKey := readKey(t, dir)
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "kaigi.db"))
		if err != nil {
			t.Fatal(err)
		}
		db.Exec(`UPDATE meetings SET passcode = x'01020304' WHERE id = 'pass-code'`)
		db.Close()
		_, err = rotate(t, dir, "with damage")
		if err == nil || !strings.Contains(err.Error(), "meetings.passcode of meetings pass-code") {
			t.Fatalf("rotation over a damaged value: %v, want it named", err)
		}
		if exists(filepath.Join(dir, "secret.key.new")) || !bytes.Equal(readKey(t, dir), oldKey) {
			t.Fatal("a failed rotation changed the key files")
		}
		k := openKeyed(t, dir)
		if n := len(rotationEntries(t, k.db)); n != 0 {
			t.Fatalf("%d rotation entries after a failed rotation", n)
		}
	})
}

// TestRotationDisagreementKeepsBothKeys: when the audit log says an
// interrupted rotation committed but the database's values open only with
// the old key, nothing is settled: opening fails and both files stay.
func TestRotationDisagreementKeepsBothKeys(t *testing.T) {
	dir := t.TempDir()
	makeSealedData(t, dir)
	restore := auth.CrashRotationAt("written")
	_, err := rotate(t, dir, "crash test")
	restore()
	if err == nil {
		t.Fatal("the simulated crash did not stop the rotation")
	}
	s, err := auth.LoadOrCreateSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pending, ok := s.Pending()
	if !ok {
		t.Fatal("secret.key.new not seen as pending")
	}
	// A forged commit record (nil sealer: the store settles nothing).
	raw, err := store.OpenSQLite(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = raw.AppendAudit(ctx, audit.Entry{Time: time.Now(), ActorKind: audit.ActorOperator, Action: audit.KeyRotated,
		SubjectKind: audit.SubjectServer, Reason: "forged", Details: map[string]string{"newKey": pending}})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	if db, err := store.OpenSQLite(ctx, dir, s); err == nil || !strings.Contains(err.Error(), "opens only with the other key") {
		if db != nil {
			db.Close()
		}
		t.Fatalf("open with a disagreeing log: %v", err)
	}
	if !exists(filepath.Join(dir, "secret.key.new")) || !exists(filepath.Join(dir, "secret.key")) {
		t.Fatal("a key file was removed although the log and the data disagree")
	}
}
