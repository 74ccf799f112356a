package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Firefox ESR in the browser tests: Debian's firefox-esr, headless, driven
// over WebDriver BiDi (bidi_test.go) by its built-in remote agent. One
// Firefox serves every test that asks for it (started on first use,
// stopped by TestMain); each Firefox tab is a window in a user context of
// its own (separate storage, like another person). A Firefox tab is a
// *tab like a Chromium one: the helpers that only evaluate JavaScript
// (waitJS, decodes, securityCode...) work on both; navigation, clicks,
// typing and screenshots go through firefoxPage.

// firefoxPrefs go into the profile's user.js. Fake camera and microphone
// without a permission prompt; host candidates on every interface,
// loopback included, with their real addresses (no mDNS names); and
// nothing that reaches outside the machine — no updates, telemetry,
// safe-browsing lists, captive-portal or connectivity checks, remote
// settings, plugin (OpenH264) downloads, DNS prefetching or proxies. The
// remote agent sets more of the same (remote.prefs.recommended), but only
// once it is up; these hold from the first moment. Firefox also runs with
// MOZ_DISABLE_NONLOCAL_CONNECTIONS=1, as in Mozilla's own test harnesses:
// remote settings then stay quiet, and any other attempt to connect to an
// address that is not local crashes Firefox (see firefox.log), so the
// test fails rather than calling out.
var firefoxPrefs = map[string]any{
	"media.navigator.streams.fake":                      true,
	"media.navigator.permission.disabled":               true,
	"media.peerconnection.ice.loopback":                 true,
	"media.peerconnection.ice.obfuscate_host_addresses": false,
	"media.autoplay.default":                            0, // allowed
	"media.autoplay.blocking_policy":                    0,
	"media.gmp-manager.updateEnabled":                   false,
	"media.gmp-manager.url":                             "",
	"media.gmp-gmpopenh264.autoupdate":                  false,

	"network.proxy.type":                             0,
	"network.trr.mode":                               5, // no DNS over HTTPS
	"network.dns.disablePrefetch":                    true,
	"network.prefetch-next":                          false,
	"network.http.speculative-parallel-limit":        0,
	"network.captive-portal-service.enabled":         false,
	"network.connectivity-service.enabled":           false,
	"app.update.disabledForTesting":                  true,
	"app.update.auto":                                false,
	"app.normandy.enabled":                           false,
	"app.normandy.api_url":                           "",
	"services.settings.server":                       "data:,#remote-settings-dummy/v1",
	"extensions.update.enabled":                      false,
	"extensions.getAddons.cache.enabled":             false,
	"extensions.systemAddon.update.enabled":          false,
	"browser.safebrowsing.malware.enabled":           false,
	"browser.safebrowsing.phishing.enabled":          false,
	"browser.safebrowsing.downloads.enabled":         false,
	"browser.safebrowsing.blockedURIs.enabled":       false,
	"browser.search.update":                          false,
	"browser.region.network.url":                     "",
	"messaging-system.rsexperimentloader.enabled":    false,
	"app.shield.optoutstudies.enabled":               false,
	"browser.backup.enabled":                         false,
	"browser.shell.checkDefaultBrowser":              false,
	"browser.startup.homepage_override.mstone":       "ignore",
	"browser.startup.page":                           0,
	"browser.aboutwelcome.enabled":                   false,
	"browser.newtabpage.enabled":                     false,
	"browser.newtab.preload":                         false,
	"datareporting.policy.dataSubmissionEnabled":     false,
	"datareporting.healthreport.uploadEnabled":       false,
	"datareporting.usage.uploadEnabled":              false,
	"toolkit.telemetry.enabled":                      false,
	"toolkit.telemetry.unified":                      false,
	"toolkit.telemetry.server":                       "",
	"dom.push.connection.enabled":                    false,
	"geo.provider.network.url":                       "",
	"browser.sessionstore.resume_from_crash":         false,
	"toolkit.startup.max_resumed_crashes":            -1,
	"browser.tabs.warnOnClose":                       false,
	"browser.translations.enable":                    false,
	"browser.ml.enable":                              false,
	"browser.urlbar.suggest.searches":                false,
	"browser.contentblocking.introCount":             99,
	"security.remote_settings.intermediates.enabled": false,
}

// firefox is a running Firefox with a BiDi session.
type firefox struct {
	cmd     *exec.Cmd
	profile string
	bidi    *bidiConn
	log     string        // where its stdout and stderr go
	stderr  chan struct{} // closed when Firefox's stderr is drained

	mu   sync.Mutex
	tabs map[string]*tab // by browsing context, for their console output
}

var sharedFF struct {
	once sync.Once
	ff   *firefox
	err  error
}

// sharedFirefox returns the package's Firefox, starting it on first use.
// Without firefox-esr on PATH it skips the test — except in CI, where the
// test command installs it and its absence is a failure.
func sharedFirefox(t *testing.T) *firefox {
	t.Helper()
	path, err := exec.LookPath("firefox-esr")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("firefox-esr not found; the test command installs it (apt-get install firefox-esr)")
		}
		t.Skip("firefox-esr not found (make test installs it)")
	}
	sharedFF.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		sharedFF.ff, sharedFF.err = startFirefox(ctx, path)
	})
	if sharedFF.err != nil {
		t.Fatalf("start firefox-esr: %v", sharedFF.err)
	}
	return sharedFF.ff
}

// stopFirefox stops the shared Firefox, if a test started it.
func stopFirefox() {
	if sharedFF.ff != nil {
		sharedFF.ff.stop()
	}
}

var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

// startFirefox starts a headless Firefox with a fresh profile and its
// remote agent on a free port, and opens a BiDi session with it. What
// Firefox writes to stderr goes to firefox.log among the artifacts.
func startFirefox(ctx context.Context, path string) (*firefox, error) {
	profile, err := os.MkdirTemp("", "kaigi-firefox-")
	if err != nil {
		return nil, err
	}
	var prefs strings.Builder
	names := make([]string, 0, len(firefoxPrefs))
	for name := range firefoxPrefs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, _ := json.Marshal(firefoxPrefs[name])
		fmt.Fprintf(&prefs, "user_pref(%q, %s);\n", name, v)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs.String()), 0o644); err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(artifacts, "firefox.log"))
	if err != nil {
		os.RemoveAll(profile)
		return nil, err
	}

	cmd := exec.Command(path, "--headless", "--no-remote", "--remote-debugging-port=0", "--profile", profile, "about:blank")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_DISABLE_NONLOCAL_CONNECTIONS=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		os.RemoveAll(profile)
		return nil, err
	}
	cmd.Stdout = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(profile)
		return nil, err
	}
	ff := &firefox{cmd: cmd, profile: profile, log: logFile.Name(), stderr: make(chan struct{}), tabs: make(map[string]*tab)}

	// Read stderr for the remote agent's address, then keep draining it
	// (Firefox would block on a full pipe) until it closes.
	found := make(chan string, 1)
	go func() {
		defer close(ff.stderr)
		defer logFile.Close()
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if m := bidiListening.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	var url string
	select {
	case url = <-found:
	case <-ff.stderr:
		ff.stop()
		return nil, fmt.Errorf("firefox exited before its remote agent listened (see %s)", logFile.Name())
	case <-ctx.Done():
		ff.stop()
		return nil, fmt.Errorf("waiting for the remote agent: %w (see %s)", ctx.Err(), logFile.Name())
	}

	ff.bidi, err = dialBiDi(ctx, url+"/session", ff.event)
	if err != nil {
		ff.stop()
		return nil, err
	}
	if err := ff.bidi.call(ctx, "session.subscribe", map[string]any{"events": []string{"log.entryAdded"}}, nil); err != nil {
		ff.stop()
		return nil, err
	}
	return ff, nil
}

// event passes console messages and uncaught errors to their tab's log.
func (ff *firefox) event(method string, params json.RawMessage) {
	if method != "log.entryAdded" {
		return
	}
	var e struct {
		Type   string `json:"type"`
		Level  string `json:"level"`
		Text   string `json:"text"`
		Source struct {
			Context string `json:"context"`
		} `json:"source"`
	}
	if json.Unmarshal(params, &e) != nil {
		return
	}
	line := e.Level + ": " + e.Text
	if e.Type == "javascript" { // an uncaught exception, or the page's CSP refusing something
		line = "javascript " + line
	}
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if tb := ff.tabs[e.Source.Context]; tb != nil {
		tb.logLine(line)
		return
	}
	// A message from a realm of no browsing context (a worker's, say):
	// every tab keeps it.
	for _, tb := range ff.tabs {
		tb.logLine("(no page) " + line)
	}
}

// stop ends the session and the browser, then removes the profile.
func (ff *firefox) stop() {
	if ff.bidi == nil {
		ff.cmd.Process.Kill() // it never got as far as a session
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = ff.bidi.call(ctx, "browser.close", nil, nil)
		cancel()
		ff.bidi.close()
	}
	exited := make(chan struct{})
	go func() {
		<-ff.stderr
		ff.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		ff.cmd.Process.Kill()
		<-exited
	}
	os.RemoveAll(ff.profile)
}

// firefoxPage is what drives a Firefox tab: its browsing context (a
// window) in a user context of its own.
type firefoxPage struct {
	ff          *firefox
	context     string
	userContext string
}

// newFirefoxTab opens a window, in a new user context, in the shared
// Firefox.
func newFirefoxTab(t *testing.T, name string) *tab {
	t.Helper()
	ff := sharedFirefox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var uc struct {
		UserContext string `json:"userContext"`
	}
	if err := ff.bidi.call(ctx, "browser.createUserContext", nil, &uc); err != nil {
		t.Fatal(err)
	}
	var bc struct {
		Context string `json:"context"`
	}
	if err := ff.bidi.call(ctx, "browsingContext.create", map[string]any{"type": "window", "userContext": uc.UserContext}, &bc); err != nil {
		t.Fatal(err)
	}
	p := &firefoxPage{ff: ff, context: bc.Context, userContext: uc.UserContext}
	if err := ff.bidi.call(ctx, "browsingContext.setViewport", map[string]any{"context": p.context,
		"viewport": map[string]int{"width": 1280, "height": 800}}, nil); err != nil {
		t.Fatal(err)
	}
	tabCtx, cancelTab := context.WithCancel(context.Background())
	tb := &tab{t: t, name: name, ctx: tabCtx, logs: &consoleLog{lines: make(chan string, 1000)}, ff: p}
	ff.mu.Lock()
	ff.tabs[p.context] = tb
	ff.mu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			tb.screenshot("failed")
			tb.dumpLogs()
			t.Logf("%s: Firefox's own output is in %s", name, ff.log)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ff.bidi.call(ctx, "browsingContext.close", map[string]any{"context": p.context}, nil)
		_ = ff.bidi.call(ctx, "browser.removeUserContext", map[string]any{"userContext": p.userContext}, nil)
		ff.mu.Lock()
		delete(ff.tabs, p.context)
		ff.mu.Unlock()
		cancelTab()
	})
	return tb
}

// navigate loads url and waits for the page to be complete.
func (p *firefoxPage) navigate(ctx context.Context, url string) error {
	return p.ff.bidi.call(ctx, "browsingContext.navigate", map[string]any{"context": p.context, "url": url, "wait": "complete"}, nil)
}

// eval evaluates a JavaScript expression (not statements: it is wrapped
// in an async function) in the page, awaiting a promise, and decodes its
// value, passed as JSON, into out, unless out is nil.
func (p *firefoxPage) eval(ctx context.Context, expr string, out any) error {
	wrapped := "(async () => { const v = await (" + expr + "\n); return v === undefined ? \"null\" : JSON.stringify(v); })()"
	var r struct {
		Type   string `json:"type"` // "success" or "exception"
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := p.ff.bidi.call(ctx, "script.evaluate", map[string]any{
		"expression":      wrapped,
		"target":          map[string]string{"context": p.context},
		"awaitPromise":    true,
		"resultOwnership": "none",
	}, &r)
	if err != nil {
		return err
	}
	if r.Type != "success" {
		return fmt.Errorf("javascript: %s", r.ExceptionDetails.Text)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal([]byte(r.Result.Value), out)
}

// click clicks the middle of the (visible) element with the mouse, as a
// person would: whatever lies on top of it gets the click.
func (p *firefoxPage) click(ctx context.Context, selector string) error {
	var at *struct{ X, Y float64 }
	err := p.eval(ctx, fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (e === null) return null;
		e.scrollIntoView({ block: "center", inline: "center" });
		const r = e.getBoundingClientRect();
		return { X: r.left + r.width / 2, Y: r.top + r.height / 2 };
	})()`, selector), &at)
	if err != nil {
		return err
	}
	if at == nil {
		return fmt.Errorf("no element %s", selector)
	}
	return p.ff.bidi.call(ctx, "input.performActions", map[string]any{"context": p.context, "actions": []any{map[string]any{
		"type": "pointer", "id": "mouse", "parameters": map[string]string{"pointerType": "mouse"},
		"actions": []any{
			map[string]any{"type": "pointerMove", "x": int(math.Round(at.X)), "y": int(math.Round(at.Y)), "origin": "viewport"},
			map[string]any{"type": "pointerDown", "button": 0},
			map[string]any{"type": "pointerUp", "button": 0},
		},
	}}}, nil)
}

// typeText empties an input, focuses it and types text into it key by key.
func (p *firefoxPage) typeText(ctx context.Context, selector, text string) error {
	var focused bool
	err := p.eval(ctx, fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (e === null) return false;
		e.value = "";
		e.focus();
		return document.activeElement === e;
	})()`, selector), &focused)
	if err != nil {
		return err
	}
	if !focused {
		return fmt.Errorf("cannot focus %s", selector)
	}
	var keys []any
	for _, r := range text {
		keys = append(keys, map[string]any{"type": "keyDown", "value": string(r)}, map[string]any{"type": "keyUp", "value": string(r)})
	}
	return p.ff.bidi.call(ctx, "input.performActions", map[string]any{"context": p.context, "actions": []any{map[string]any{
		"type": "key", "id": "keyboard", "actions": keys,
	}}}, nil)
}

// screenshot returns a PNG of the viewport.
func (p *firefoxPage) screenshot(ctx context.Context) ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	if err := p.ff.bidi.call(ctx, "browsingContext.captureScreenshot", map[string]any{"context": p.context}, &r); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(r.Data)
}

// runBiDi runs one step on a Firefox tab with a deadline, failing the test
// on error: what run is to a Chromium tab.
func (tb *tab) runBiDi(what string, step func(ctx context.Context) error) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := step(ctx); err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.name, what, err)
	}
}
