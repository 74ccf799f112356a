package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestScrapeReadsMemory: scrape reads the anonymous RSS and the goroutine
// stacks beside the total RSS, and marks the anonymous RSS missing (-1)
// on a server that does not export it, rather than failing.
func TestScrapeReadsMemory(t *testing.T) {
	const common = `# HELP process_resident_memory_bytes Resident memory size in bytes.
process_cpu_seconds_total 1.5
process_resident_memory_bytes 5.24288e+07
kaigi_forwarded_packets_total 10
kaigi_forwarded_bytes_total 1000
kaigi_participants 2
kaigi_signalling_connections 2
go_goroutines 40
go_threads 8
go_memstats_heap_inuse_bytes 1e+07
go_memstats_heap_alloc_bytes 9e+06
go_memstats_stack_inuse_bytes 1.048576e+06
process_open_fds 20
`
	for _, tc := range []struct {
		name, body string
		anon       float64
	}{
		{"with", common + "kaigi_resident_anonymous_memory_bytes 3.145728e+07\n", 30 << 20},
		{"without", common, -1},
		// A server that could not read its memory says NaN: absent, not 0.
		{"unreadable", common + "kaigi_resident_anonymous_memory_bytes NaN\n", -1},
	} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(tc.body)) }))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := scrape(ctx, ts.Client(), ts.URL, "")
		cancel()
		ts.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if s.anonBytes != tc.anon || s.rssBytes != 50<<20 || s.stackInuse != 1<<20 || s.goroutines != 40 {
			t.Errorf("%s: anon %.0f, rss %.0f, stacks %.0f, goroutines %.0f; want %.0f, %d, %d, 40", tc.name,
				s.anonBytes, s.rssBytes, s.stackInuse, s.goroutines, tc.anon, 50<<20, 1<<20)
		}
	}
}
