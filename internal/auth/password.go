package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password rules: long enough to resist guessing (NIST SP 800-63B asks for
// at least 8; we ask for 10), short enough that hashing stays cheap.
const (
	MinPasswordLength = 10
	MaxPasswordBytes  = 256
)

// HashParams are argon2id's costs. They are written into every hash, so
// they can be raised later and old hashes still verify (and are upgraded
// at the next sign-in).
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultHashParams are RFC 9106's second recommended option: 64 MiB,
// three passes, four lanes.
var DefaultHashParams = HashParams{Memory: 64 * 1024, Time: 3, Threads: 4}

const (
	saltBytes = 16
	keyBytes  = 32
)

// CheckPassword applies the password rules.
func CheckPassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: not valid UTF-8", ErrWeakPassword)
	case utf8.RuneCountInString(pw) < MinPasswordLength:
		return fmt.Errorf("%w: at least %d characters", ErrWeakPassword, MinPasswordLength)
	case len(pw) > MaxPasswordBytes:
		return fmt.Errorf("%w: at most %d bytes", ErrWeakPassword, MaxPasswordBytes)
	}
	return nil
}

// HashPassword returns an argon2id hash in the PHC string format:
// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>.
func HashPassword(pw string, p HashParams) string {
	salt := make([]byte, saltBytes)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyBytes)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword checks pw against a hash in constant time. It reports
// whether the hash's parameters differ from want (time to rehash).
func VerifyPassword(pw, hash string, want HashParams) (ok, stale bool, err error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, p != want, nil
}

func parseHash(hash string) (HashParams, []byte, []byte, error) {
	var p HashParams
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("bad argon2 parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("bad salt: %w", err)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return p, nil, nil, fmt.Errorf("bad key")
	}
	return p, salt, key, nil
}
