package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Sealer encrypts small secrets at rest (TOTP secrets, meeting passcodes)
// with AES-256-GCM under a key kept in the data directory, so a copy of the
// database alone does not reveal them.
type Sealer struct {
	aead cipher.AEAD
	// deviceKey signs known-device tokens (devices.go): derived from the
	// key, never used to encrypt.
	deviceKey []byte
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
	return &Sealer{aead: aead, deviceKey: m.Sum(nil)}, nil
}

// LoadOrCreateSealer reads the key file in dir, creating it (mode 0600)
// the first time.
func LoadOrCreateSealer(dir string) (*Sealer, error) {
	path := filepath.Join(dir, "secret.key")
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		rand.Read(key)
		if err := os.WriteFile(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%s: want 32 bytes, found %d", path, len(key))
	}
	return NewSealer(key)
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
