package meeting

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest display name, in characters.
const MaxNameLength = 64

// NormaliseName trims a display name and checks it: 1 to MaxNameLength
// characters of valid UTF-8, no control characters, and no bidirectional
// overrides (which could make one name render as another).
func NormaliseName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrBadName)
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", fmt.Errorf("%w: empty", ErrBadName)
	}
	if n > MaxNameLength {
		return "", fmt.Errorf("%w: longer than %d characters", ErrBadName, MaxNameLength)
	}
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) || r == utf8.RuneError {
			return "", fmt.Errorf("%w: contains control character %U", ErrBadName, r)
		}
	}
	return s, nil
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}
