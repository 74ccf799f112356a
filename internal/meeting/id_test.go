package meeting

import (
	"errors"
	"regexp"
	"testing"
)

var canonicalID = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$`)

func TestNewIDFormatAndUniqueness(t *testing.T) {
	seen := make(map[ID]bool)
	for range 10000 {
		id := NewID()
		if !canonicalID.MatchString(string(id)) {
			t.Fatalf("NewID() = %q, not canonical", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
		back, err := ParseID(string(id))
		if err != nil || back != id {
			t.Fatalf("ParseID(%q) = %q, %v", id, back, err)
		}
	}
}

// TestNewIDUsesWholeAlphabet checks that every character position draws on
// all 32 symbols, i.e. carries 5 bits: 16 positions give the 80 bits the
// product requires.
func TestNewIDUsesWholeAlphabet(t *testing.T) {
	var seen [idChars]map[rune]bool
	for i := range seen {
		seen[i] = make(map[rune]bool)
	}
	for range 4000 {
		id, _ := ParseID(string(NewID()))
		pos := 0
		for _, r := range string(id) {
			if r == '-' {
				continue
			}
			seen[pos][r] = true
			pos++
		}
	}
	for i, s := range seen {
		if len(s) != 32 {
			t.Errorf("position %d used %d symbols, want 32", i, len(s))
		}
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		in      string
		want    ID
		wantErr bool
	}{
		{in: "7k3m-q9xd-2hfa-b8rn", want: "7k3m-q9xd-2hfa-b8rn"},
		{in: "7K3M-Q9XD-2HFA-B8RN", want: "7k3m-q9xd-2hfa-b8rn"},
		{in: "7k3mq9xd2hfab8rn", want: "7k3m-q9xd-2hfa-b8rn"},
		{in: "7k3m-q9xd-2hfa-b8rn-", want: "7k3m-q9xd-2hfa-b8rn"},
		{in: "ilo0-0000-0000-0000", want: "1100-0000-0000-0000"},
		{in: "", wantErr: true},
		{in: "7k3m-q9xd-2hfa", wantErr: true},
		{in: "7k3m-q9xd-2hfa-b8rn0", wantErr: true},
		{in: "7k3m-q9xd-2hfa-b8ru", wantErr: true}, // u is not in the alphabet
		{in: "7k3m q9xd 2hfa b8rn", wantErr: true},
		{in: "../../etc/passwd", wantErr: true},
		{in: "7k3m-q9xd-2hfa-b8r\u00e9", wantErr: true},
		{in: "7k3m-q9xd-2hfa-b8rn-------------------------", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrBadMeetingID) {
				t.Errorf("ParseID(%q) = %q, %v; want ErrBadMeetingID", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("7k3m-q9xd-2hfa-b8rn")
	f.Add("ILO0000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if !canonicalID.MatchString(string(id)) {
			t.Fatalf("ParseID(%q) = %q, not canonical", s, id)
		}
		again, err := ParseID(string(id))
		if err != nil || again != id {
			t.Fatalf("ParseID not idempotent on %q: %q, %v", id, again, err)
		}
	})
}
