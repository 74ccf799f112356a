// Package metrics exposes Kaigi's counters in the Prometheus text format,
// with the Go runtime's (go_goroutines, go_memstats_heap_inuse_bytes, ...)
// and the process's (process_open_fds, process_resident_memory_bytes, ...),
// and on Linux the resident anonymous memory apart
// (kaigi_resident_anonymous_memory_bytes, anonymousRSS).
// It reads them from functions at scrape time, so nothing on the media path
// touches a Prometheus type.
package metrics

import (
	"bufio"
	"bytes"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are the functions the metrics read.
type Sources struct {
	Meetings         func() int    // meetings with someone in them
	Participants     func() int    // participants, including those reconnecting
	Connections      func() int    // open signalling sockets
	ForwardedPackets func() uint64 // RTP packets sent to subscribers since start
	ForwardedBytes   func() uint64 // their bytes
	// CountryRefusals counts joins refused by a country rule since start
	// (nil: not exported).
	CountryRefusals func() uint64
	// The SFU's batched sends since start (each nil: not exported):
	// datagrams the kernel took from batches, the system calls that sent
	// them, and datagrams a batch could not send.
	BatchedDatagrams func() uint64
	BatchSyscalls    func() uint64
	BatchSendErrors  func() uint64
}

// openSockets counts this process's file descriptors that are sockets,
// so that a leaked connection is told apart from the database's files.
func openSockets() int {
	return countFDs(func(target string) bool { return strings.HasPrefix(target, "socket:") })
}

// openDatabaseFiles counts this process's file descriptors on the SQLite
// database's files (kaigi.db and its -wal and -shm). SQLite keeps the
// descriptor of a connection the pool closed open while another
// connection of the process holds a lock on the file (closing it would
// drop that lock), and reuses it for the next connection; so how many
// there are follows the peak of concurrent connections, not a leak, and
// the load test's leak check counts them apart.
func openDatabaseFiles() int {
	return countFDs(func(target string) bool {
		name := filepath.Base(target)
		return name == "kaigi.db" || name == "kaigi.db-wal" || name == "kaigi.db-shm"
	})
}

// countFDs counts this process's file descriptors whose target matches;
// -1 without /proc.
func countFDs(match func(target string) bool) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && match(target) {
			n++
		}
	}
	return n
}

// anonymousRSS reads the resident anonymous memory (RssAnon) of
// /proc/self/status, in bytes; ok is false where there is none (not
// Linux). process_resident_memory_bytes also counts the file-backed pages
// of the executable and libraries: code the media path runs for the first
// time becomes resident and looks like memory per participant, though it
// is a fixed cost, shared and reclaimable. RssAnon is the heap, stacks and
// runtime structures: what participants really cost.
func anonymousRSS() (bytes float64, ok bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	return parseRSSAnon(b)
}

// parseRSSAnon finds "RssAnon:  1234 kB" in a /proc/<pid>/status.
func parseRSSAnon(status []byte) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, found := strings.CutPrefix(sc.Text(), "RssAnon:")
		if !found {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(v), " ")
		kb, err := strconv.ParseFloat(num, 64)
		if err != nil || unit != "kB" {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

// gcEvery is the least time between two collections asked for by ?gc=1.
var gcEvery = time.Second

// Handler returns the /metrics handler. GET /metrics?gc=1 first collects
// garbage and returns freed memory to the system (debug.FreeOSMemory), so
// that the heap and RSS it reports are what is still in use: the load
// test's leak check compares them before anyone joins and after everyone
// leaves. That costs a full collection, so it runs at most once a second
// (later asks within the second are served without it); whoever holds the
// metrics token can ask for it.
func Handler(src Sources) http.Handler {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "kaigi", Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "kaigi", Name: name, Help: help},
			func() float64 { return float64(f()) })
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("meetings", "Meetings with at least one participant.", src.Meetings),
		gauge("participants", "Participants in meetings, including those reconnecting.", src.Participants),
		gauge("signalling_connections", "Open signalling WebSockets.", src.Connections),
		counter("forwarded_packets_total", "RTP packets forwarded to subscribers.", src.ForwardedPackets),
		counter("forwarded_bytes_total", "Bytes of RTP forwarded to subscribers.", src.ForwardedBytes),
		gauge("open_sockets", "Open file descriptors that are sockets (signalling, media, listeners), of process_open_fds; -1 without /proc.", openSockets),
		gauge("open_database_files", "Open file descriptors on the SQLite database's files (kaigi.db, -wal, -shm), of process_open_fds: SQLite keeps a closed connection's open while another holds a lock, so they follow the peak of concurrent connections; -1 without /proc.", openDatabaseFiles),
	)
	if src.CountryRefusals != nil {
		reg.MustRegister(counter("country_refusals_total", "Joins refused by an organisation's or a meeting's country rule.", src.CountryRefusals))
	}
	if _, ok := anonymousRSS(); ok {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "kaigi", Name: "resident_anonymous_memory_bytes",
			Help: "Resident anonymous memory (RssAnon of /proc/self/status: heap, stacks, runtime), of process_resident_memory_bytes, which also counts the executable's file-backed pages. Linux only."},
			func() float64 {
				// A reading that fails is NaN, not 0: a zero would pass for a figure.
				if v, ok := anonymousRSS(); ok {
					return v
				}
				return math.NaN()
			}))
	}
	for _, c := range []struct {
		name, help string
		f          func() uint64
	}{
		{"sfu_batched_datagrams_total", "Datagrams of forwarded media the kernel took from the SFU's batched sends (GSO + sendmmsg).", src.BatchedDatagrams},
		{"sfu_batch_syscalls_total", "System calls the SFU's batched sends made.", src.BatchSyscalls},
		{"sfu_batch_send_errors_total", "Datagrams of forwarded media a batched send could not send (the kernel refused them or the socket had closed); they are lost.", src.BatchSendErrors},
	} {
		if c.f != nil {
			reg.MustRegister(counter(c.name, c.help, c.f))
		}
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	var (
		mu     sync.Mutex
		lastGC time.Time
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") == "1" {
			mu.Lock()
			if lastGC.IsZero() || time.Since(lastGC) >= gcEvery {
				debug.FreeOSMemory()
				lastGC = time.Now()
			}
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}
