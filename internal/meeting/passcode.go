package meeting

import (
	"crypto/rand"
	"crypto/subtle"
	"math/big"
	"strings"
)

// passcodeDigits: 10^9 possibilities. With failed joins rate-limited per
// address (one every 6 s after 10), guessing is out of reach, and
// nine digits are easy to read out and type on a phone.
const passcodeDigits = 9

// NewPasscode returns a random numeric passcode.
func NewPasscode() string {
	max := big.NewInt(1)
	for range passcodeDigits {
		max.Mul(max, big.NewInt(10))
	}
	n, err := rand.Int(rand.Reader, max)
	if err != nil {
		panic(err)
	}
	s := n.String()
	return strings.Repeat("0", passcodeDigits-len(s)) + s
}

// passcodeMatches compares in constant time, ignoring spaces people type
// when copying "123 456 789".
func passcodeMatches(want, got string) bool {
	got = strings.ReplaceAll(strings.TrimSpace(got), " ", "")
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
