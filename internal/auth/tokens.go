package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// newToken returns 32 random bytes in base64url: session and sign-in
// challenge tokens.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is what is stored for a token: a leaked database does not
// yield working sessions.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// RecoveryCodeCount is how many one-time recovery codes a person gets.
const RecoveryCodeCount = 10

const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// newRecoveryCode returns ten base32 characters (50 bits) as "xxxxx-xxxxx".
func newRecoveryCode() string {
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = recoveryAlphabet[b[i]&31]
	}
	return string(b[:5]) + "-" + string(b[5:])
}

// recoveryHash normalises a typed recovery code (case, dashes, spaces) and
// hashes it. Codes carry 50 random bits, so a fast hash is enough.
func recoveryHash(code string) []byte {
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
	h := sha256.Sum256([]byte("kaigi recovery code\x00" + code))
	return h[:]
}
