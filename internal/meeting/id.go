package meeting

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// alphabet is Crockford's base32 in lower case: no i, l, o or u, so an ID read
// aloud or copied by hand is hard to get wrong.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

const (
	// idChars is the number of base32 characters in a meeting ID: 16 × 5 = 80
	// random bits, beyond the reach of enumeration (product problem P1).
	idChars = 16
	// idGroup is the size of the dash-separated groups in the written form.
	idGroup = 4
	// participantIDChars gives 50 random bits: participant IDs only need to
	// be unique within a meeting and are not secret.
	participantIDChars = 10
)

// ID identifies a meeting: 80 bits from the CSPRNG, written as four groups of
// four base32 characters ("7k3m-q9xd-2hfa-b8rn").
type ID string

// ParticipantID identifies a participant within a meeting.
type ParticipantID string

// NewID returns a fresh random meeting ID.
func NewID() ID {
	s := randomBase32(idChars)
	var b strings.Builder
	for i := 0; i < idChars; i += idGroup {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i : i+idGroup])
	}
	return ID(b.String())
}

// NewParticipantID returns a fresh random participant ID.
func NewParticipantID() ParticipantID {
	return ParticipantID(randomBase32(participantIDChars))
}

// ParseID accepts a meeting ID as a person might type it (any case, with or
// without dashes, Crockford's look-alikes i/l for 1 and o for 0) and returns
// it in canonical form.
func ParseID(s string) (ID, error) {
	if len(s) > 2*idChars {
		return "", ErrBadMeetingID
	}
	var b strings.Builder
	n := 0
	for _, r := range strings.ToLower(s) {
		switch r {
		case '-':
			continue
		case 'i', 'l':
			r = '1'
		case 'o':
			r = '0'
		}
		if r > 0x7f || !strings.ContainsRune(alphabet, r) {
			return "", fmt.Errorf("%w: unexpected character", ErrBadMeetingID)
		}
		if n > 0 && n%idGroup == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
		n++
	}
	if n != idChars {
		return "", fmt.Errorf("%w: want %d characters, got %d", ErrBadMeetingID, idChars, n)
	}
	return ID(b.String()), nil
}

// randomBase32 returns n characters, each carrying 5 uniformly random bits.
func randomBase32(n int) string {
	buf := make([]byte, n)
	rand.Read(buf) // never returns an error; it crashes the program instead
	for i, v := range buf {
		buf[i] = alphabet[v&31]
	}
	return string(buf)
}
