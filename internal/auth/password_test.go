package auth

import (
	"errors"
	"strings"
	"testing"
)

var fastParams = HashParams{Memory: 64, Time: 1, Threads: 1}

func TestPasswordHashRoundTrip(t *testing.T) {
	h := HashPassword("correct horse battery", fastParams)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not in the PHC argon2id format", h)
	}
	if h2 := HashPassword("correct horse battery", fastParams); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	ok, stale, err := VerifyPassword("correct horse battery", h, fastParams)
	if !ok || stale || err != nil {
		t.Fatalf("verify right password = %v %v %v", ok, stale, err)
	}
	ok, _, err = VerifyPassword("correct horse batterz", h, fastParams)
	if ok || err != nil {
		t.Fatalf("verify wrong password = %v %v", ok, err)
	}
	_, stale, _ = VerifyPassword("correct horse battery", h, HashParams{Memory: 128, Time: 1, Threads: 1})
	if !stale {
		t.Fatal("a hash with old parameters is not reported stale")
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	for _, h := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=x,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$",
	} {
		if ok, _, err := VerifyPassword("x", h, fastParams); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v", h, ok, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short":                     false,
		"123456789":                 false,
		"1234567890":                true,
		"pässwörter":                true, // 10 characters, 12 bytes
		strings.Repeat("x", 256):    true,
		strings.Repeat("x", 257):    false,
		"bad utf8 \xff\xfe\xfd\xfc": false,
	} {
		err := CheckPassword(pw)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrWeakPassword)) {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", pw, err, ok)
		}
	}
}
