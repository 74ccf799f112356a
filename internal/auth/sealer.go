package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// Sealer encrypts small secrets at rest (TOTP secrets, meeting passcodes)
// with AES-256-GCM under a key kept in the data directory, so a copy of the
// database alone does not reveal them.
type Sealer struct {
	aead cipher.AEAD
	// deviceKey signs known-device tokens (devices.go): derived from the
	// key, never used to encrypt.
	deviceKey []byte
	// fingerprint names the key without revealing it (Fingerprint).
	fingerprint string
	// file is the key's file and the lock on its data directory; nil for
	// a Sealer made from a key in memory (rotate.go).
	file *keyFile
}

const sealVersion = 1

var errUnseal = errors.New("cannot unseal: wrong key or damaged data")

// NewSealer uses a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kaigi known-device tokens v1"))
	return &Sealer{aead: aead, deviceKey: m.Sum(nil), fingerprint: keyFingerprint(key)}, nil
}

// keyFingerprint is a SHA-256 of the key under a label of its own: it
// names a key in the audit log and the operator's output, and no hash
// the key is used for (GCM, the device key's HMAC) is the same.
func keyFingerprint(key []byte) string {
	h := sha256.New()
	h.Write([]byte("kaigi secret.key fingerprint v1\x00"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil))
}

// Fingerprint names the key (a labelled SHA-256 of it, in hex), so that
// the audit log and the operator can say which key sealed the database
// without revealing it.
func (s *Sealer) Fingerprint() string { return s.fingerprint }

// LoadOrCreateSealer reads the key file in dir, creating it (mode 0600)
// the first time. It holds a shared lock on dir until Close (or the
// process ends), so that a key rotation (RotateKey) never runs while a
// server or a command holds the key; it waits a few seconds for one in
// progress to end. A rotation that was interrupted (secret.key.new left
// beside secret.key) is settled by the store when it opens the database
// (Settle), before anything is sealed or opened.
func LoadOrCreateSealer(dir string) (*Sealer, error) {
	lock, err := lockDataDir(dir, false)
	if err != nil {
		return nil, err
	}
	s, err := loadKeys(dir, lock, true)
	if err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the data directory's lock. The Sealer still seals and
// opens.
func (s *Sealer) Close() error {
	if s.file == nil || s.file.lock == nil {
		return nil
	}
	err := s.file.lock.Close()
	s.file.lock = nil
	return err
}

// Seal encrypts plaintext; label binds the ciphertext to its purpose (a
// TOTP secret cannot be swapped in for a passcode).
func (s *Sealer) Seal(plaintext []byte, label string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, plaintext, []byte(label))
}

// Open decrypts what Seal produced with the same label.
func (s *Sealer) Open(sealed []byte, label string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return nil, errUnseal
	}
	pt, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(label))
	if err != nil {
		return nil, errUnseal
	}
	return pt, nil
}
