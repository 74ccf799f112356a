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
// characters of valid UTF-8, and no hidden characters (HiddenCharacter).
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
	if r, ok := HiddenCharacter(s); ok {
		return "", fmt.Errorf("%w: contains control or format character %U", ErrBadName, r)
	}
	return s, nil
}

// HiddenCharacter returns the first character of s that a display name or
// a meeting title may not contain, if there is one: control characters,
// line and paragraph separators, U+FFFD (what invalid UTF-8 decodes to),
// and format characters (Unicode category Cf: zero-width spaces and
// joiners, bidirectional controls, the byte-order mark, tags). Format
// characters are invisible or change how the text around them is shown,
// so one name could pass for another or run into the text beside it. The
// one exception is a zero-width joiner inside an emoji sequence (👩🏽‍💻),
// where it draws a picture rather than hiding anything.
// web/src/meeting/protocol.ts (hiddenCharacter) applies the same rule.
func HiddenCharacter(s string) (rune, bool) {
	prev := rune(-1)
	for i, r := range s {
		if hidden(r) && !(r == zeroWidthJoiner && joinsEmoji(prev, s[i+utf8.RuneLen(r):])) {
			return r, true
		}
		prev = r
	}
	return 0, false
}

const zeroWidthJoiner = '\u200d'

func hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) || r == utf8.RuneError
}

// joinsEmoji reports whether a zero-width joiner between prev and the
// start of rest joins two emoji: a symbol (or a skin-tone modifier, or the
// emoji presentation selector) before it, a symbol after.
func joinsEmoji(prev rune, rest string) bool {
	next, _ := utf8.DecodeRuneInString(rest)
	skinTone := prev >= 0x1f3fb && prev <= 0x1f3ff
	return (unicode.Is(unicode.So, prev) || skinTone || prev == '\ufe0f') && unicode.Is(unicode.So, next)
}
