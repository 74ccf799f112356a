// Command udplimit measures what one CPU can send: 1200-byte UDP packets
// on loopback in frames of 5 to each of many destinations, by sendto,
// sendmmsg batches and UDP GSO (package udpsend), reporting packets per
// CPU-second of the sending process, the figure BENCHMARKS.md gives for
// the SFU. The receivers run in a child process on another CPU and drain
// every socket (recvmmsg), so the kernel's loopback delivery, which runs
// in the sender's system call, is counted as it is for the SFU.
//
//	scripts/isolated.sh go run ./internal/udpsend/udplimit [-dests 200] [-rounds 5] [-duration 2s]
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi-meet/kaigi/internal/udpsend"
	"golang.org/x/sys/unix"
)

func main() {
	receive := flag.Bool("receive", false, "be the receivers' process (internal)")
	dests := flag.Int("dests", 200, "destinations (receiving sockets)")
	rounds := flag.Int("rounds", 5, "rounds; each runs every method once, in turn")
	duration := flag.Duration("duration", 2*time.Second, "how long each method sends in a round")
	cpu := flag.Int("cpu", 0, "the CPU the sender is pinned to")
	rcpu := flag.Int("receiver-cpu", 1, "the CPU the receivers are pinned to")
	asJSON := flag.Bool("json", false, "print the raw runs as JSON")
	flag.Parse()
	var err error
	if *receive {
		err = receiver(*dests, *rcpu)
	} else {
		err = sender(*dests, *rounds, *duration, *cpu, *rcpu, *asJSON)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "udplimit:", err)
		os.Exit(1)
	}
}

// receiver opens the sockets, prints their ports, and answers each line
// on stdin with the packets received so far, until stdin closes.
func receiver(n, cpu int) error {
	if err := udpsend.PinProcess(cpu); err != nil {
		return err
	}
	runtime.GOMAXPROCS(1)
	r, err := udpsend.Receive(n)
	if err != nil {
		return err
	}
	defer r.Close()
	var ports []string
	for _, a := range r.Addrs() {
		ports = append(ports, strconv.Itoa(int(a.Port())))
	}
	fmt.Println(strings.Join(ports, " "))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(r.Packets())
	}
	return nil
}

// Run is one method sending for one duration.
type Run struct {
	Method      string  `json:"method"`
	Round       int     `json:"round"`
	Packets     int64   `json:"packets"`  // the kernel took
	Received    int64   `json:"received"` // arrived in the receivers' sockets
	Seconds     float64 `json:"seconds"`
	CPUSeconds  float64 `json:"cpuSeconds"`  // the sending process, user + system
	CPU0Seconds float64 `json:"cpu0Seconds"` // the sender's CPU, busy in any way (/proc/stat)
	Error       string  `json:"error,omitempty"`
}

func sender(dests, rounds int, duration time.Duration, cpu, rcpu int, asJSON bool) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "-receive", "-dests", strconv.Itoa(dests), "-receiver-cpu", strconv.Itoa(rcpu))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer func() { stdin.Close(); child.Wait() }()
	out := bufio.NewScanner(stdout)
	if !out.Scan() {
		return errors.New("the receivers did not start")
	}
	var addrs []netip.AddrPort
	for _, p := range strings.Fields(out.Text()) {
		port, err := strconv.Atoi(p)
		if err != nil {
			return err
		}
		addrs = append(addrs, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port)))
	}
	received := func() (int64, error) {
		if _, err := fmt.Fprintln(stdin, "count"); err != nil {
			return 0, err
		}
		if !out.Scan() {
			return 0, errors.New("the receivers ended")
		}
		return strconv.ParseInt(out.Text(), 10, 64)
	}
	if err := udpsend.PinProcess(cpu); err != nil {
		return err
	}
	runtime.GOMAXPROCS(1)
	s, err := udpsend.NewSender(addrs)
	if err != nil {
		return err
	}
	defer s.Close()

	var runs []Run
	refused := map[string]string{}
	for round := 1; round <= rounds; round++ {
		for _, m := range udpsend.Methods {
			if refused[m.Name] != "" {
				continue
			}
			r, err := measure(s, m, duration, cpu, received)
			r.Round = round
			if errors.Is(err, udpsend.ErrGSORefused) {
				refused[m.Name] = err.Error()
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			runs = append(runs, r)
			fmt.Fprintf(os.Stderr, "round %d %-18s %9.0f pkt per CPU-s (%.2f CPU, %.1f%% arrived)\n", round, m.Name,
				float64(r.Packets)/r.CPUSeconds, r.CPUSeconds/r.Seconds, 100*float64(r.Received)/float64(r.Packets))
		}
	}
	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"dests": dests, "packetSize": udpsend.PacketSize,
			"framePackets": udpsend.FramePackets, "runs": runs, "refused": refused})
	}
	report(runs, refused, dests, rounds)
	return nil
}

// measure sends by m for d and reads the counters around it.
func measure(s *udpsend.Sender, m udpsend.Method, d time.Duration, cpu int, received func() (int64, error)) (Run, error) {
	r := Run{Method: m.Name}
	// One round first: a refusal shows before anything is counted.
	if _, err := s.Round(m); err != nil {
		return r, err
	}
	// Let the receivers drain the warm-up round before counting.
	recv0, err := settled(received)
	if err != nil {
		return r, err
	}
	cpuBefore, busyBefore := processCPU(), cpuBusy(cpu)
	start := time.Now()
	for time.Since(start) < d {
		n, err := s.Round(m)
		if err != nil {
			return r, err
		}
		r.Packets += int64(n)
	}
	r.Seconds = time.Since(start).Seconds()
	r.CPUSeconds = (processCPU() - cpuBefore).Seconds()
	r.CPU0Seconds = (cpuBusy(cpu) - busyBefore).Seconds()
	recv, err := settled(received)
	if err != nil {
		return r, err
	}
	r.Received = recv - recv0
	return r, nil
}

// settled asks the receivers for their count until it stops moving (at
// most 1 s): what is still in their sockets is read in the next moment.
func settled(received func() (int64, error)) (int64, error) {
	last := int64(-1)
	for i := 0; i < 20; i++ {
		n, err := received()
		if err != nil || n == last {
			return n, err
		}
		last = n
		time.Sleep(50 * time.Millisecond)
	}
	return last, nil
}

// processCPU is this process's CPU time, user and system, as the SFU's
// process_cpu_seconds_total counts its own.
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuBusy is how long the CPU has been busy (anything but idle and I/O
// wait), from /proc/stat: soft interrupts included wherever the kernel
// accounts them.
func cpuBusy(cpu int) time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	prefix := fmt.Sprintf("cpu%d ", cpu)
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)[1:]
		var busy int64
		for i, v := range f {
			n, _ := strconv.ParseInt(v, 10, 64)
			if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
				continue
			}
			busy += n
		}
		return time.Duration(busy) * time.Second / 100 // USER_HZ
	}
	return 0
}

func report(runs []Run, refused map[string]string, dests, rounds int) {
	fmt.Printf("%d-byte UDP payloads, frames of %d packets to each of %d destinations on loopback; medians of %d rounds [lowest–highest]\n\n",
		udpsend.PacketSize, udpsend.FramePackets, dests, rounds)
	fmt.Println("| method | system calls per packet | packets per process CPU-second | packets per busy CPU-second (/proc/stat) | packets / s | sender CPU | arrived |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, m := range udpsend.Methods {
		if why := refused[m.Name]; why != "" {
			fmt.Printf("| %s | refused: %s |||||\n", m.Name, why)
			continue
		}
		var perCPU, perBusy, rate, util, arrived []float64
		for _, r := range runs {
			if r.Method != m.Name {
				continue
			}
			perCPU = append(perCPU, float64(r.Packets)/r.CPUSeconds)
			perBusy = append(perBusy, float64(r.Packets)/r.CPU0Seconds)
			rate = append(rate, float64(r.Packets)/r.Seconds)
			util = append(util, r.CPUSeconds/r.Seconds)
			arrived = append(arrived, 100*float64(r.Received)/float64(r.Packets))
		}
		fmt.Printf("| %s | %.3g | %s | %s | %s | %s | %s |\n", m.Name, m.SyscallsPerPacket(), thousands(perCPU), thousands(perBusy),
			thousands(rate), med(util, "%.2f"), med(arrived, "%.1f %%"))
	}
}

func thousands(v []float64) string {
	sort.Float64s(v)
	if len(v) == 0 {
		return "-"
	}
	k := func(x float64) string { return fmt.Sprintf("%.0fk", x/1000) }
	return fmt.Sprintf("%s [%s–%s]", k(v[len(v)/2]), k(v[0]), k(v[len(v)-1]))
}

func med(v []float64, format string) string {
	sort.Float64s(v)
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf(format+" ["+format+"–"+format+"]", v[len(v)/2], v[0], v[len(v)-1])
}
