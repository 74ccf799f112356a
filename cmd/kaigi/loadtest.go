package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kaigi-meet/kaigi/internal/loadtest"
)

const loadtestUsage = `Usage:
  kaigi loadtest [flags]                 run one scenario and report (flags below)
  kaigi loadtest summarize FILE.json...  a Markdown table of --json results

Without --url it starts its own server (this binary's "serve", fresh data,
an open meeting) and stops it afterwards. Run it in a network namespace
(see BENCHMARKS.md) so media stays on a private loopback.

--receiver light makes the subscribers that do not publish cheap to run:
their media is read in batches from shared sockets, decrypted and counted
without pion's receive chain and without NACKs, so loss is unrepaired loss;
the default, --receiver browser, receives as a browser does (NACK repair,
receiver reports) for the latency and loss a person would see.

Participants reach the server directly and allocate no TURN relay, as the
web client does unless a direct path fails; --relays makes each allocate
its relays at join (as browsers did before), to measure what they cost.
The result says which ("relays" in the JSON).

--scenario soak holds a meeting (default: 50 people, 5 of them with camera
at 500 kbit/s and microphone, for 10 minutes) while someone comes or goes
every --churn, then everyone leaves and it waits up to --settle for the
server's goroutines, open files and heap (after a garbage collection) to
return to what they were before anyone joined. It fails if they do not.

`

// loadtestCmd runs `kaigi loadtest`.
func loadtestCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "summarize" {
		if len(args) < 2 {
			return fmt.Errorf("loadtest summarize: give the JSON result files")
		}
		return loadtest.Summarize(stdout, args[1:])
	}
	cfg := loadtest.Defaults()
	fs := flag.NewFlagSet("kaigi loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, loadtestUsage); fs.PrintDefaults() }
	fs.StringVar(&cfg.Scenario, "scenario", cfg.Scenario, "`fanout` (1 publisher → N subscribers), meeting (N × N), joinstorm (N join within 1 s) or soak (a long meeting, then a leak check)")
	fs.IntVar(&cfg.N, "n", cfg.N, "subscribers (fanout, joinstorm) or participants (meeting, soak: default 50)")
	fs.IntVar(&cfg.Bitrate, "bitrate", cfg.Bitrate, "video `bits` per second per publisher (soak: default 500000)")
	fs.IntVar(&cfg.FPS, "fps", cfg.FPS, "video frames per second")
	fs.DurationVar(&cfg.KeyframeInterval, "keyframe-interval", cfg.KeyframeInterval, "time between periodic key frames")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "time after everyone receives media, before measuring")
	fs.DurationVar(&cfg.Window, "window", cfg.Window, "how long to measure (soak: how long the meeting lasts, default 10m)")
	fs.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "soak: participants with camera and microphone on; the others listen")
	fs.DurationVar(&cfg.Churn, "churn", cfg.Churn, "soak: time between comings and goings (a listener leaves and another joins, one drops and resumes, a camera goes off or on); 0: none")
	fs.DurationVar(&cfg.Sample, "sample", cfg.Sample, "soak: time between samples of the server's goroutines, files and memory")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "soak: how long the server may take to return to its baseline after everyone leaves")
	fs.DurationVar(&cfg.JoinTimeout, "join-timeout", cfg.JoinTimeout, "how long participants may take to receive their media")
	fs.StringVar(&cfg.URL, "url", "", "an existing server to load (e.g. http://127.0.0.1:8080); its /metrics must be on, with its metrics.token in $KAIGI_METRICS_TOKEN")
	fs.StringVar(&cfg.Meeting, "meeting", "", "with --url: the meeting `ID` (no waiting room, joining before the host allowed)")
	fs.StringVar(&cfg.Passcode, "passcode", "", "with --url: the meeting's passcode")
	fs.StringVar(&cfg.SecondURL, "second-url", "", "with --url: another node of its cluster, through which every second subscriber joins; both nodes' /metrics (same token) count (fanout, joinstorm)")
	fs.StringVar(&cfg.MetricsURL, "metrics-url", "", "the server's metrics, if not at URL/metrics")
	fs.StringVar(&cfg.Binary, "server-binary", "", "the kaigi `executable` to start as the server (default: this one), to compare builds")
	fs.IntVar(&cfg.ServerCPU, "server-cpu", cfg.ServerCPU, "pin the server this starts to this CPU (-1: not pinned)")
	fs.IntVar(&cfg.CPU, "cpu", cfg.CPU, "pin the load generator to this CPU (-1: not pinned)")
	fs.StringVar(&cfg.Receiver, "receiver", cfg.Receiver, "how subscribers that do not publish receive: `browser` (pion's full receive chain with NACKs and receiver reports: latency and repaired loss as a browser sees them) or light (batched reads on shared sockets, SRTP decrypted and counted without pion's chain, no NACKs: unrepaired loss, a cheaper generator)")
	fs.BoolVar(&cfg.Simulcast, "simulcast", cfg.Simulcast, "publishers send the camera as three simulcast layers (rid q, h, f at a tenth, a third and all of --bitrate), as a browser does")
	fs.BoolVar(&cfg.Relays, "relays", cfg.Relays, "every participant allocates TURN relays on the server at join (the welcome's turn: URLs), as browsers did before they asked only when a direct path fails; default: none, direct only")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	quiet := fs.Bool("quiet", false, "no progress lines on standard error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("loadtest: unexpected argument %q", fs.Arg(0))
	}
	if cfg.Scenario == loadtest.Soak {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		d := loadtest.SoakDefaults()
		if !set["n"] {
			cfg.N = d.N
		}
		if !set["bitrate"] {
			cfg.Bitrate = d.Bitrate
		}
		if !set["window"] {
			cfg.Window = d.Window
		}
	}
	// An environment variable, not a flag: a flag's value is visible to
	// every user of the machine.
	cfg.MetricsToken = os.Getenv("KAIGI_METRICS_TOKEN")
	if !*quiet {
		cfg.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = res.WriteText(stdout)
	}
	if err == nil && res.Soak != nil && res.Soak.Leaked {
		err = fmt.Errorf("loadtest: the server did not return to its baseline within %v: %s", cfg.Settle,
			strings.Join(res.Soak.Excess, ", "))
	}
	return err
}
