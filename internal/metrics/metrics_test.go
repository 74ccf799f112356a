package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerReadsSources(t *testing.T) {
	h := Handler(Sources{
		Meetings:         func() int { return 2 },
		Participants:     func() int { return 5 },
		Connections:      func() int { return 4 },
		ForwardedPackets: func() uint64 { return 12345 },
		ForwardedBytes:   func() uint64 { return 678901 },
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"kaigi_meetings 2",
		"kaigi_participants 5",
		"kaigi_signalling_connections 4",
		"kaigi_forwarded_packets_total 12345",
		"kaigi_forwarded_bytes_total 678901",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
