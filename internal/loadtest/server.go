package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/udpsend"
	"golang.org/x/sys/unix"
)

// serverStats is one scrape of the server's /metrics.
type serverStats struct {
	at         time.Time
	cpuSeconds float64 // process_cpu_seconds_total
	rssBytes   float64 // process_resident_memory_bytes
	// anonBytes is kaigi_resident_anonymous_memory_bytes, the part of
	// rssBytes that is not file-backed; -1 if the server lacks it (older
	// servers, not Linux).
	anonBytes    float64
	stackInuse   float64 // go_memstats_stack_inuse_bytes
	packets      float64 // kaigi_forwarded_packets_total
	bytes        float64 // kaigi_forwarded_bytes_total
	participants float64 // kaigi_participants
	connections  float64 // kaigi_signalling_connections
	goroutines   float64 // go_goroutines
	threads      float64 // go_threads
	heapInuse    float64 // go_memstats_heap_inuse_bytes
	heapAlloc    float64 // go_memstats_heap_alloc_bytes
	openFDs      float64 // process_open_fds
	sockets      float64 // kaigi_open_sockets; -1 if the server lacks it
	dbFiles      float64 // kaigi_open_database_files; -1 if the server lacks it
}

// scrape reads the few unlabelled metrics the load test needs from a
// Prometheus text exposition, sending token (if any) as a bearer token.
func scrape(ctx context.Context, hc *http.Client, url, token string) (serverStats, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return serverStats{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return serverStats{}, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverStats{}, fmt.Errorf("metrics: %s answered %s", url, resp.Status)
	}
	s := serverStats{at: time.Now()}
	fields := map[string]*float64{
		"process_cpu_seconds_total":     &s.cpuSeconds,
		"process_resident_memory_bytes": &s.rssBytes,
		"kaigi_forwarded_packets_total": &s.packets,
		"kaigi_forwarded_bytes_total":   &s.bytes,
		"kaigi_participants":            &s.participants,
		"kaigi_signalling_connections":  &s.connections,
		"go_goroutines":                 &s.goroutines,
		"go_threads":                    &s.threads,
		"go_memstats_heap_inuse_bytes":  &s.heapInuse,
		"go_memstats_heap_alloc_bytes":  &s.heapAlloc,
		"go_memstats_stack_inuse_bytes": &s.stackInuse,
		"process_open_fds":              &s.openFDs,
	}
	found := 0
	s.sockets, s.dbFiles, s.anonBytes = -1, -1, -1 // older servers lack them
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if name == "kaigi_open_sockets" {
			s.sockets, _ = strconv.ParseFloat(strings.TrimSpace(value), 64)
			continue
		}
		if name == "kaigi_open_database_files" {
			s.dbFiles, _ = strconv.ParseFloat(strings.TrimSpace(value), 64)
			continue
		}
		if name == "kaigi_resident_anonymous_memory_bytes" {
			// Unreadable or NaN (the server could not read it): absent.
			if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil && !math.IsNaN(v) {
				s.anonBytes = v
			}
			continue
		}
		if p := fields[name]; ok && p != nil {
			if *p, err = strconv.ParseFloat(strings.TrimSpace(value), 64); err != nil {
				return serverStats{}, fmt.Errorf("metrics: %s: %w", name, err)
			}
			found++
		}
	}
	if err := sc.Err(); err != nil {
		return serverStats{}, fmt.Errorf("metrics: %w", err)
	}
	if found != len(fields) {
		return serverStats{}, fmt.Errorf("metrics: %s lacks some of the go_, process_ and kaigi_ metrics", url)
	}
	return s, nil
}

// child is a `kaigi serve` process the load test started.
type child struct {
	cmd *exec.Cmd
	dir string
	url string
	// metricsToken opens its /metrics, which is off without one.
	metricsToken string
	cpus         string // the CPUs it may run on, from /proc
	done         chan error
}

var openURL = regexp.MustCompile(`Open (\S+) in your browser`)

// startChild starts `binary serve` on a free loopback port with a fresh
// data directory, pinned to cpu unless it is negative, and waits until it
// says where it listens. Its logs (warnings and errors) go to logs.
func startChild(ctx context.Context, binary string, env []string, cpu int, logs io.Writer) (*child, error) {
	dir, err := os.MkdirTemp("", "kaigi-loadtest-")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "kaigi.yaml")
	token := rand.Text()
	// A 200-subscriber fan-out needs more than the default 100 per meeting.
	yaml := "meetings:\n  max_participants: 1000\nmetrics:\n  token: " + token + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"),
		"--config", cfg, "--log-level", "warn")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := startPinned(cmd, cpu); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	c := &child{cmd: cmd, dir: dir, metricsToken: token, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := openURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- strings.TrimSuffix(m[1], "/"):
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
		c.done <- cmd.Wait()
	}()
	select {
	case c.url = <-urls:
	case err := <-c.done:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s serve exited before listening: %v", binary, err)
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s serve did not say where it listens within 30 s", binary)
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
	c.cpus = allowedCPUs(cmd.Process.Pid)
	return c, nil
}

// stop ends the server (SIGTERM, then SIGKILL after 10 s) and removes its
// data.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(unix.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	os.RemoveAll(c.dir)
}

// startPinned starts cmd with its CPU affinity set to cpu (all CPUs if
// cpu < 0). The child inherits the affinity of the thread that forks it,
// so this thread is pinned for the moment of the fork and restored after.
func startPinned(cmd *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return err
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin to CPU %d: %w", cpu, err)
	}
	defer unix.SchedSetaffinity(0, &old)
	return cmd.Start()
}

// pinSelf moves every thread of this process to cpu; threads started
// later inherit it from the thread that starts them.
func pinSelf(cpu int) error { return udpsend.PinProcess(cpu) }

// allowedCPUs reads the CPUs a process may run on, as /proc lists them.
func allowedCPUs(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// setUp signs up the first account of a fresh server (its admin) and
// creates an open meeting for the load: no passcode, no waiting room, no
// end-to-end encryption (the SFU forwards encrypted media the same way;
// the synthetic clients have no MLS).
func setUp(ctx context.Context, base string) (meetingID string, err error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	post := func(path string, body, out any) error {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
		}
		return json.Unmarshal(msg, out)
	}
	// The sign-up's connection would otherwise stay open in the default
	// transport's pool, a goroutine and a file descriptor in the server's
	// baseline that go away later by themselves.
	defer hc.CloseIdleConnections()
	var user struct{}
	if err := post("/api/auth/signup", map[string]string{"email": "loadtest@example.org", "name": "Load Test",
		"password": "load test password"}, &user); err != nil {
		return "", fmt.Errorf("sign up the load test's account: %w", err)
	}
	var m struct{ ID string }
	settings := map[string]any{"e2ee": false, "passcode": false, "waitingRoom": false, "joinBeforeHost": true,
		"screenShare": "everyone", "unmute": "everyone", "chat": "everyone", "rename": "everyone"}
	if err := post("/api/meetings", map[string]any{"settings": settings}, &m); err != nil {
		return "", fmt.Errorf("create the meeting: %w", err)
	}
	return m.ID, nil
}
