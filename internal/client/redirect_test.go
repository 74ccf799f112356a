package client

import "testing"

// TestRedirectOrigin: a refusal's redirect is kept only for a region
// refusal, and only as an http(s) origin.
func TestRedirectOrigin(t *testing.T) {
	for _, tc := range []struct{ code, raw, want string }{
		{"region_not_allowed", "https://eu1.example.org", "https://eu1.example.org"},
		{"region_not_allowed", "http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"region_not_allowed", "https://eu1.example.org/evil?x#y", "https://eu1.example.org"},
		{"region_not_allowed", "javascript:alert(1)", ""},
		{"region_not_allowed", "ftp://eu1.example.org", ""},
		{"region_not_allowed", "//eu1.example.org", ""},
		{"region_not_allowed", "https://user@eu1.example.org", ""},
		{"region_not_allowed", "", ""},
		{"wrong_passcode", "https://eu1.example.org", ""},
	} {
		if got := redirectOrigin(tc.code, tc.raw); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.code, tc.raw, got, tc.want)
		}
	}
}
