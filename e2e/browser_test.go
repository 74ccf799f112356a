package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/web"
)

// browserCtx is the shared Chromium, started by TestMain.
var browserCtx context.Context

// artifacts is where screenshots go.
var artifacts string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "e2e: chromium not found; the test command installs it (apt-get install chromium)")
			return 1
		}
		fmt.Fprintln(os.Stderr, "e2e: SKIP: chromium not found (make test installs it)")
		return 0
	}
	if _, err := web.Dist().Open("index.html"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the web client is not built; run make web (make test does)")
		return 1
	}
	artifacts = os.Getenv("KAIGI_E2E_ARTIFACTS")
	if artifacts == "" {
		artifacts, _ = os.MkdirTemp("", "kaigi-e2e-")
	}
	os.MkdirAll(artifacts, 0o755)
	ctx, cancel, err := launch(path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start chromium:", err)
		return 1
	}
	defer cancel()
	browserCtx = ctx
	defer stopFirefox()
	code := m.Run()
	fmt.Fprintln(os.Stderr, "e2e: screenshots in", artifacts)
	return code
}

// launch starts a headless Chromium with fake media devices and returns a
// context for its first tab. extra adds or overrides flags.
func launch(path string, extra map[string]any) (context.Context, context.CancelFunc, error) {
	profile, err := os.MkdirTemp("", "kaigi-chromium-")
	if err != nil {
		return nil, nil, err
	}
	flags := map[string]any{
		"headless":                          true,
		"no-sandbox":                        true,
		"disable-gpu":                       true,
		"disable-background-networking":     true,
		"disable-component-update":          true,
		"disable-sync":                      true,
		"no-first-run":                      true,
		"no-default-browser-check":          true,
		"autoplay-policy":                   "no-user-gesture-required",
		"use-fake-device-for-media-stream":  true,
		"use-fake-ui-for-media-stream":      true,
		"allow-loopback-in-peer-connection": true,
		// Every tab is a participant in the foreground: no throttling.
		"disable-background-timer-throttling":    true,
		"disable-renderer-backgrounding":         true,
		"disable-backgrounding-occluded-windows": true,
		"disable-dev-shm-usage":                  true,
	}
	for k, v := range extra {
		flags[k] = v
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	}
	for k, v := range flags {
		opts = append(opts, chromedp.Flag(k, v))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithErrorf(quietErrorf))
	cancel := func() {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(profile)
	}
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		return nil, nil, err
	}
	return ctx, cancel, nil
}

// startBrowser starts a Chromium of the test's own (for flags that differ
// from the shared one's), closed when the test ends.
func startBrowser(t *testing.T, extra map[string]any) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel, err := launch(path, extra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return ctx
}

// startServer starts Kaigi with the real web client.
func startServer(t *testing.T, opts servertest.Options) *servertest.Server {
	t.Helper()
	opts.Web = web.Dist()
	return servertest.Start(t, opts)
}

// tab is one participant's browser tab, in its own browser context: in
// Chromium, driven with chromedp through ctx, or in Firefox (ff set),
// driven over WebDriver BiDi (firefox_test.go).
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
	logs *consoleLog
	ff   *firefoxPage
}

type consoleLog struct {
	lines chan string
}

// newTab opens a fresh tab, in a new browser context, in the shared browser.
func newTab(t *testing.T, name string) *tab {
	t.Helper()
	return newTabIn(t, browserCtx, name)
}

// newTabIn opens a fresh tab in a new browser context of browser b.
func newTabIn(t *testing.T, b context.Context, name string) *tab {
	t.Helper()
	// A new browser context (separate storage, like another person) with its
	// own window: headless Chromium refuses a tab without a window.
	c := chromedp.FromContext(b)
	exec := cdp.WithExecutor(b, c.Browser)
	bc, err := target.CreateBrowserContext().WithDisposeOnDetach(true).Do(exec)
	if err != nil {
		t.Fatal(err)
	}
	tid, err := target.CreateTarget("about:blank").WithBrowserContextID(bc).WithNewWindow(true).Do(exec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(b, chromedp.WithTargetID(tid))
	tb := &tab{t: t, name: name, ctx: ctx, logs: &consoleLog{lines: make(chan string, 1000)}}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
			tb.logLine(string(ev.Type) + ": " + strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			tb.logLine("exception: " + ev.ExceptionDetails.Error())
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			tb.screenshot("failed")
			tb.dumpLogs()
		}
		cancel()
		_ = target.DisposeBrowserContext(bc).Do(exec)
	})
	return tb
}

// quietErrorf logs chromedp's errors except the DOM events it does not
// know (such as the top layer of a modal <dialog>), which are harmless.
func quietErrorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, "unhandled node event") {
		return
	}
	log.Print(msg)
}

func (tb *tab) logLine(s string) {
	select {
	case tb.logs.lines <- s:
	default:
	}
}

func (tb *tab) dumpLogs() {
	for {
		select {
		case l := <-tb.logs.lines:
			tb.t.Logf("[%s console] %s", tb.name, l)
		default:
			return
		}
	}
}

// run runs actions with a deadline, failing the test on error.
func (tb *tab) run(what string, actions ...chromedp.Action) {
	tb.t.Helper()
	if tb.ff != nil {
		tb.t.Fatalf("%s: %s: chromedp actions on a Firefox tab", tb.name, what)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into out.
func (tb *tab) eval(expr string, out any) error {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if tb.ff != nil {
		return tb.ff.eval(ctx, expr, out)
	}
	return chromedp.Run(ctx, chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// waitJS polls a JavaScript predicate (which may return a promise) until
// it is true. Media statistics have no event to wait on; everything else
// in the UI is awaited with chromedp's WaitVisible/WaitReady instead.
func (tb *tab) waitJS(what, expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		err := tb.eval(expr, &ok)
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err.Error()
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-tb.ctx.Done():
			tb.t.Fatalf("%s: %s: tab closed", tb.name, what)
		}
	}
	tb.t.Fatalf("%s: timed out waiting for %s (last error: %s)", tb.name, what, last)
}

func (tb *tab) screenshot(label string) string {
	var buf []byte
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	var err error
	if tb.ff != nil {
		buf, err = tb.ff.screenshot(ctx)
	} else {
		err = chromedp.Run(ctx, chromedp.CaptureScreenshot(&buf))
	}
	if err != nil {
		tb.t.Logf("%s: screenshot: %v", tb.name, err)
		return ""
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(tb.t.Name() + "-" + tb.name + "-" + label + ".png")
	path := filepath.Join(artifacts, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.t.Logf("%s: save screenshot: %v", tb.name, err)
		return ""
	}
	tb.t.Logf("%s: screenshot %s", tb.name, path)
	return path
}

// inboundStat is one entry of window.kaigiDebug.stats().
type inboundStat struct {
	Participant          string  `json:"participant"`
	Source               string  `json:"source"`
	Kind                 string  `json:"kind"`
	PacketsReceived      float64 `json:"packetsReceived"`
	BytesReceived        float64 `json:"bytesReceived"`
	FramesDecoded        float64 `json:"framesDecoded"`
	TotalSamplesReceived float64 `json:"totalSamplesReceived"`
}

func (tb *tab) stats() []inboundStat {
	tb.t.Helper()
	var raw json.RawMessage
	if err := tb.eval(`window.kaigiDebug.stats().then(s => JSON.stringify(s))`, &raw); err != nil {
		tb.t.Fatalf("%s: stats: %v", tb.name, err)
	}
	var s string
	json.Unmarshal(raw, &s)
	var out []inboundStat
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		tb.t.Fatalf("%s: stats %s: %v", tb.name, s, err)
	}
	return out
}

func (tb *tab) selfID() string {
	tb.t.Helper()
	var id string
	if err := tb.eval(`window.kaigiDebug.selfId() || ""`, &id); err != nil {
		tb.t.Fatal(err)
	}
	return id
}

// decodes waits until this tab has decoded media of a participant's
// source: video frames, or audio samples.
func (tb *tab) decodes(participant, source string) {
	tb.t.Helper()
	field := "framesDecoded"
	if source == "microphone" || source == "screen-audio" {
		field = "totalSamplesReceived"
	}
	expr := fmt.Sprintf(`window.kaigiDebug.stats().then(s => s.some(x => x.participant === %q && x.source === %q && x.%s > 0))`,
		participant, source, field)
	tb.waitJS(fmt.Sprintf("%s of %s decoded", source, participant), expr)
}

// attr reads an attribute of the first element matching selector ("" if
// there is none).
func (tb *tab) attr(selector, name string) string {
	tb.t.Helper()
	var v string
	expr := fmt.Sprintf(`(document.querySelector(%q)?.getAttribute(%q)) ?? ""`, selector, name)
	if err := tb.eval(expr, &v); err != nil {
		tb.t.Fatal(err)
	}
	return v
}

// waitFor waits until an element matching selector exists.
func (tb *tab) waitFor(what, selector string) {
	tb.t.Helper()
	tb.waitJS(what, fmt.Sprintf(`document.querySelector(%q) !== null`, selector))
}

// waitGone waits until no element matches selector.
func (tb *tab) waitGone(what, selector string) {
	tb.t.Helper()
	tb.waitJS(what, fmt.Sprintf(`document.querySelector(%q) === null`, selector))
}

// framesDecoded returns how many frames of a participant's source this tab
// has decoded so far.
func (tb *tab) framesDecoded(participant, source string) float64 {
	tb.t.Helper()
	for _, s := range tb.stats() {
		if s.Participant == participant && s.Source == source {
			return s.FramesDecoded
		}
	}
	return 0
}

// decodesMore waits until this tab decodes more frames of a participant's
// source than it had.
func (tb *tab) decodesMore(participant, source string, than float64) {
	tb.t.Helper()
	expr := fmt.Sprintf(`window.kaigiDebug.stats().then(s => s.some(x => x.participant === %q && x.source === %q && x.framesDecoded > %v))`,
		participant, source, than)
	tb.waitJS(fmt.Sprintf("more %s frames of %s", source, participant), expr)
}
