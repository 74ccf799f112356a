package metrics

import (
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHandlerReadsSources(t *testing.T) {
	h := Handler(Sources{
		Meetings:         func() int { return 2 },
		Participants:     func() int { return 5 },
		Connections:      func() int { return 4 },
		ForwardedPackets: func() uint64 { return 12345 },
		ForwardedBytes:   func() uint64 { return 678901 },
		CountryRefusals:  func() uint64 { return 7 },
		BatchedDatagrams: func() uint64 { return 4000 },
		BatchSyscalls:    func() uint64 { return 90 },
		BatchSendErrors:  func() uint64 { return 3 },
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
		"kaigi_country_refusals_total 7",
		"kaigi_sfu_batched_datagrams_total 4000",
		"kaigi_sfu_batch_syscalls_total 90",
		"kaigi_sfu_batch_send_errors_total 3",
		"go_goroutines",
		"go_memstats_heap_inuse_bytes",
		"process_open_fds",
		"process_resident_memory_bytes",
		"kaigi_open_sockets",
		"kaigi_open_database_files",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestOpenSockets: a listener opened here is counted, and no longer once
// closed.
func TestOpenSockets(t *testing.T) {
	before := openSockets()
	if before < 0 {
		t.Skip("no /proc/self/fd here")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if n := openSockets(); n != before+1 {
		t.Errorf("%d sockets with a listener open, want %d", n, before+1)
	}
	ln.Close()
	if n := openSockets(); n != before {
		t.Errorf("%d sockets after closing it, want %d", n, before)
	}
}

// TestOpenDatabaseFiles: descriptors on the database's files are counted
// (kaigi.db, its -wal and -shm), other files are not, and closed ones no
// longer.
func TestOpenDatabaseFiles(t *testing.T) {
	before := openDatabaseFiles()
	if before < 0 {
		t.Skip("no /proc/self/fd here")
	}
	dir := t.TempDir()
	var files []*os.File
	for _, name := range []string{"kaigi.db", "kaigi.db", "kaigi.db-wal", "kaigi.db-shm", "kaigi.db.migrate", "other.db"} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if n := openDatabaseFiles(); n != before+4 {
		t.Errorf("%d database files with 4 of them open, want %d", n, before+4)
	}
	for _, f := range files {
		f.Close()
	}
	if n := openDatabaseFiles(); n != before {
		t.Errorf("%d database files after closing them, want %d", n, before)
	}
}

// TestHandlerCollectsGarbageWhenAsked: ?gc=1 frees what is no longer
// referenced before the heap is reported, so a large dead allocation no
// longer counts; a plain scrape does not collect, nor does a second ?gc=1
// within gcEvery.
func TestHandlerCollectsGarbageWhenAsked(t *testing.T) {
	defer func(d time.Duration) { gcEvery = d }(gcEvery)
	gcEvery = time.Hour // "within the same second", however slow this machine
	h := Handler(Sources{
		Meetings: func() int { return 0 }, Participants: func() int { return 0 }, Connections: func() int { return 0 },
		ForwardedPackets: func() uint64 { return 0 }, ForwardedBytes: func() uint64 { return 0 },
	})
	heap := func(target string) float64 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
		}
		t.Fatalf("no go_memstats_heap_inuse_bytes in %s", target)
		return 0
	}
	const garbage = 64 << 20
	makeGarbage := func() {
		sink = make([]byte, garbage)
		for i := range sink {
			sink[i] = 1
		}
		sink = nil
	}
	makeGarbage()
	if plain := heap("/metrics"); plain < garbage {
		t.Skipf("the runtime collected the garbage by itself (heap %.0f MiB); nothing to tell apart", plain/(1<<20))
	}
	if after := heap("/metrics?gc=1"); after >= garbage {
		t.Errorf("heap in use %.0f MiB after ?gc=1, want the 64 MiB of garbage gone", after/(1<<20))
	}
	makeGarbage()
	if again := heap("/metrics?gc=1"); again < garbage {
		t.Errorf("a second ?gc=1 within a second collected (heap %.0f MiB)", again/(1<<20))
	}
}

var sink []byte

// TestHandlerLeavesOutUnsetCounters: a source left nil (the batch
// counters, country refusals) is not exported rather than read.
func TestHandlerLeavesOutUnsetCounters(t *testing.T) {
	h := Handler(Sources{
		Meetings: func() int { return 0 }, Participants: func() int { return 0 }, Connections: func() int { return 0 },
		ForwardedPackets: func() uint64 { return 0 }, ForwardedBytes: func() uint64 { return 0 },
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if !strings.Contains(body, "kaigi_forwarded_packets_total 0") {
		t.Fatalf("metrics lack kaigi_forwarded_packets_total:\n%s", body)
	}
	for _, absent := range []string{"kaigi_sfu_batch", "kaigi_country_refusals_total"} {
		if strings.Contains(body, absent) {
			t.Errorf("metrics hold %q with its source unset", absent)
		}
	}
}

// TestAnonymousRSS: the gauge is exported where /proc/self/status has
// RssAnon, below the total RSS and above nothing; the parser reads the
// kernel's format and refuses what it does not know.
func TestAnonymousRSS(t *testing.T) {
	status := []byte("Name:\tkaigi\nVmRSS:\t   52000 kB\nRssAnon:\t   30720 kB\nRssFile:\t   21280 kB\n")
	if v, ok := parseRSSAnon(status); !ok || v != 30720*1024 {
		t.Errorf("parseRSSAnon: %v %v, want %d true", v, ok, 30720*1024)
	}
	for _, bad := range []string{"VmRSS:\t 52000 kB\n", "RssAnon:\t lots kB\n", "RssAnon:\t 30720 MB\n"} {
		if v, ok := parseRSSAnon([]byte(bad)); ok {
			t.Errorf("parseRSSAnon(%q) = %v, want not ok", bad, v)
		}
	}
	if _, ok := anonymousRSS(); !ok {
		t.Skip("no RssAnon in /proc/self/status here")
	}
	h := Handler(Sources{
		Meetings: func() int { return 0 }, Participants: func() int { return 0 }, Connections: func() int { return 0 },
		ForwardedPackets: func() uint64 { return 0 }, ForwardedBytes: func() uint64 { return 0 },
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	values := map[string]float64{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if name, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(name, "#") {
			values[name], _ = strconv.ParseFloat(v, 64)
		}
	}
	anon, total := values["kaigi_resident_anonymous_memory_bytes"], values["process_resident_memory_bytes"]
	if anon <= 0 || anon >= total {
		t.Errorf("kaigi_resident_anonymous_memory_bytes %.0f, want above 0 and below the total RSS %.0f", anon, total)
	}
}
