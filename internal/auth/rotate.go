package auth

// Rotating the sealing key (`kaigi admin rotate-key`).
//
// The database and secret.key cannot change in one step, so a rotation
// goes through a file of its own and the audit log:
//
//  1. the new key is written to secret.key.new (0600, synced);
//  2. every sealed value is re-sealed under it in one transaction with
//     the audit entry (server.key_rotated) that names the new key's
//     fingerprint, committed durably;
//  3. secret.key.new is renamed over secret.key (the directory synced).
//
// Whoever loads the key next finds secret.key.new if the process died
// between 1 and 3, and the store settles it before anything is sealed or
// opened (Settle): the audit entry is the commit record, so when the log's
// last rotation names secret.key.new's key the rotation is finished (step
// 3), otherwise it never committed and secret.key.new is removed. No
// point of a crash leaves the database sealed under a key that is not
// kept. Rotations take the data directory's lock exclusively, and every
// LoadOrCreateSealer holds it shared, so a running server (or command),
// which keeps the old key in memory, makes a rotation wait for it rather
// than seal under a key about to go.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
)

// The key files in the data directory.
const (
	keyFileName    = "secret.key"
	newKeyFileName = "secret.key.new"
	keySize        = 32
)

// keyLockWait is how long LoadOrCreateSealer waits for a rotation in
// progress to end.
const keyLockWait = 30 * time.Second

// keyFile is where a Sealer's key came from.
type keyFile struct {
	dir  string
	lock *os.File // the data directory, locked (nil once closed)
	// exclusive: the lock is exclusive (OpenSealerForRotation).
	exclusive bool
	// pending is what secret.key.new held, while a rotation is
	// unsettled: its bytes (possibly damaged) and their fingerprint.
	pending            []byte
	pendingFingerprint string
}

// OpenSealerForRotation loads dir's key for RotateKey, taking the data
// directory's lock exclusively: it fails at once with ErrKeyInUse while a
// server or another command holds the key. Unlike LoadOrCreateSealer it
// never creates a key.
func OpenSealerForRotation(dir string) (*Sealer, error) {
	lock, err := lockDataDir(dir, true)
	if err != nil {
		return nil, err
	}
	s, err := loadKeys(dir, lock, false)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.file.exclusive = true
	return s, nil
}

// loadKeys reads secret.key.new (if any), then secret.key, under lock.
// That order matters with a shared lock: another process may be settling
// the same interrupted rotation, and once secret.key.new is gone,
// secret.key holds the new key.
func loadKeys(dir string, lock *os.File, create bool) (*Sealer, error) {
	f := &keyFile{dir: dir, lock: lock}
	newPath := filepath.Join(dir, newKeyFileName)
	pending, err := os.ReadFile(newPath)
	switch {
	case err == nil:
		f.pending, f.pendingFingerprint = pending, keyFingerprint(pending)
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read %s: %w", newPath, err)
	}
	path := filepath.Join(dir, keyFileName)
	key, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && f.pending != nil:
		return nil, fmt.Errorf("%s is missing but %s exists (an interrupted key rotation): restore %s from a backup", path, newPath, keyFileName)
	case errors.Is(err, os.ErrNotExist) && create:
		key = make([]byte, keySize)
		rand.Read(key)
		if err := writeKeyFile(path, key, nil); errors.Is(err, os.ErrExist) {
			// Another process created it just now: use that one.
			if key, err = os.ReadFile(path); err != nil {
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("%s: want %d bytes, found %d", path, keySize, len(key))
	}
	s, err := NewSealer(key)
	if err != nil {
		return nil, err
	}
	s.file = f
	return s, nil
}

// Pending reports an interrupted rotation that is not settled yet: the
// fingerprint of the key in secret.key.new. The store settles it when it
// opens the database (whether the log's last server.key_rotated entry
// names this key decides), before anything is sealed or opened.
func (s *Sealer) Pending() (fingerprint string, ok bool) {
	if s.file == nil || s.file.pending == nil {
		return "", false
	}
	return s.file.pendingFingerprint, true
}

// OpenPending opens sealed with the key of secret.key.new, for the store
// to check that a value of the database agrees with the settlement.
func (s *Sealer) OpenPending(sealed []byte, label string) ([]byte, error) {
	if _, ok := s.Pending(); !ok || len(s.file.pending) != keySize {
		return nil, errUnseal
	}
	p, err := NewSealer(s.file.pending)
	if err != nil {
		return nil, err
	}
	return p.Open(sealed, label)
}

// Settle finishes an interrupted rotation (committed: the database is
// sealed under secret.key.new's key, which replaces secret.key and this
// Sealer's key) or rolls it back (secret.key.new is removed). It must be
// called before the Sealer is used.
func (s *Sealer) Settle(committed bool) error {
	fp, ok := s.Pending()
	if !ok {
		return nil
	}
	dir := s.file.dir
	path, newPath := filepath.Join(dir, keyFileName), filepath.Join(dir, newKeyFileName)
	if !committed {
		if err := os.Remove(newPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("roll back the interrupted key rotation: %w", err)
		}
		syncDir(dir)
		slog.Default().Warn("rolled back an interrupted key rotation: it never committed, so the database is sealed under secret.key; removed secret.key.new",
			"key", s.fingerprint, "removed_key", fp)
		s.file.pending = nil
		return nil
	}
	next, err := NewSealer(s.file.pending)
	if err != nil {
		return fmt.Errorf("%s: %w", newPath, err)
	}
	if err := os.Rename(newPath, path); errors.Is(err, os.ErrNotExist) {
		// Another process settled it first: secret.key is the new key.
		if b, err := os.ReadFile(path); err != nil || keyFingerprint(b) != fp {
			return fmt.Errorf("finish the interrupted key rotation: %s vanished and %s does not hold its key", newPath, path)
		}
	} else if err != nil {
		return fmt.Errorf("finish the interrupted key rotation: %w", err)
	}
	syncDir(dir)
	slog.Default().Warn("finished an interrupted key rotation: the database was re-sealed under secret.key.new, which now replaces secret.key",
		"old_key", s.fingerprint, "key", fp)
	s.adopt(next)
	s.file.pending = nil
	return nil
}

// adopt makes s seal and open with next's key. Only before s is shared
// (Settle) or in a rotation, which holds the directory exclusively.
func (s *Sealer) adopt(next *Sealer) {
	s.aead, s.deviceKey, s.fingerprint = next.aead, next.deviceKey, next.fingerprint
}

// KeyResealer re-seals every sealed value of the database from one key to
// another and appends e, all in one transaction committed durably (the
// store). It may add details to e (how many values it re-sealed).
type KeyResealer interface {
	ResealAll(ctx context.Context, from, to *Sealer, e audit.Entry) (audit.Entry, error)
}

// KeyRotation is what a rotation did.
type KeyRotation struct {
	Old, New string // the keys' fingerprints
	Entry    audit.Entry
}

// crashAt, in tests, ends a rotation after a step as if the process had
// died there: nothing is cleaned up.
var crashAt = func(step string) bool { return false }

var errCrashed = errors.New("rotation stopped by a test (simulated crash)")

// RotateKey replaces the key of s (from OpenSealerForRotation, its
// database opened, so settled) with a new random one: it writes
// secret.key.new, has db re-seal everything under it with the operator's
// audit entry, then renames it over secret.key; see the top of this file.
// Known-device tokens, signed with a key derived from this one, are
// forgotten. On success s holds the new key.
func RotateKey(ctx context.Context, s *Sealer, db KeyResealer, reason string) (KeyRotation, error) {
	switch {
	case s.file == nil || !s.file.exclusive || s.file.lock == nil:
		return KeyRotation{}, errors.New("rotate key: the key must be opened with OpenSealerForRotation")
	case s.file.pending != nil:
		return KeyRotation{}, errors.New("rotate key: an interrupted rotation is not settled (open the database first)")
	}
	reason, err := checkReason(reason, false)
	if err != nil {
		return KeyRotation{}, err
	}
	key := make([]byte, keySize)
	rand.Read(key)
	next, err := NewSealer(key)
	if err != nil {
		return KeyRotation{}, err
	}
	dir := s.file.dir
	path, newPath := filepath.Join(dir, keyFileName), filepath.Join(dir, newKeyFileName)
	old, err := os.Stat(path)
	if err != nil {
		return KeyRotation{}, fmt.Errorf("rotate key: %w", err)
	}
	// Owned as secret.key is (a rotation run as root leaves a key the
	// server's user reads).
	if err := writeKeyFile(newPath, key, old); err != nil {
		os.Remove(newPath)
		return KeyRotation{}, fmt.Errorf("rotate key: write %s: %w", newPath, err)
	}
	if crashAt("written") {
		return KeyRotation{}, errCrashed
	}
	rot := KeyRotation{Old: s.fingerprint, New: next.fingerprint}
	e := ByOperator.entry()
	e.Time, e.Action, e.SubjectKind, e.Reason = time.Now(), audit.KeyRotated, audit.SubjectServer, reason
	e.Details = map[string]string{"oldKey": rot.Old, "newKey": rot.New}
	rot.Entry, err = db.ResealAll(ctx, s, next, e)
	if err != nil {
		// Nothing committed: the new key goes.
		if rmErr := os.Remove(newPath); rmErr != nil {
			return rot, fmt.Errorf("rotate key: %w (and removing %s failed: %v; the next start removes it)", err, newPath, rmErr)
		}
		syncDir(dir)
		return rot, fmt.Errorf("rotate key: %w", err)
	}
	if crashAt("committed") {
		return rot, errCrashed
	}
	if err := os.Rename(newPath, path); err != nil {
		return rot, fmt.Errorf("rotate key: the database is sealed under %s but it could not replace %s (%w); the next start of the server or a command finishes this", newPath, path, err)
	}
	if err := syncDir(dir); err != nil {
		return rot, fmt.Errorf("rotate key: sync %s: %w", dir, err)
	}
	s.adopt(next)
	return rot, nil
}

// writeKeyFile creates path (it must not exist) with key, mode 0600,
// owned as like is (when not nil), and syncs it and its directory.
func writeKeyFile(path string, key []byte, like os.FileInfo) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return err
	}
	if like != nil {
		if err := copyOwner(path, like); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a directory's entries (a created or renamed file) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
