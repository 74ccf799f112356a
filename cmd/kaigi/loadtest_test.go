package main

import (
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/loadtest"
)

// TestMain lets the test binary stand in for kaigi: with KAIGI_TEST_AS_KAIGI
// set it runs main, so `kaigi loadtest` can start it as its server.
func TestMain(m *testing.M) {
	if os.Getenv("KAIGI_TEST_AS_KAIGI") != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestLoadtestStartsItsOwnServer: without --url the load test starts a
// server process (pinned to CPU 0), sets up an account and an open
// meeting, loads it, reports JSON, and stops the server.
func TestLoadtestStartsItsOwnServer(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KAIGI_TEST_AS_KAIGI", "1")
	var out, errOut bytes.Buffer
	err = loadtestCmd([]string{"--scenario", "fanout", "--n", "2", "--bitrate", "200000", "--warmup", "200ms",
		"--window", "1s", "--server-cpu", "0", "--server-binary", exe, "--json"}, &out, &errOut)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, errOut.String())
	}
	var res loadtest.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if res.Joins.OK != 2 || res.Received.Tracks != 4 || res.Received.Lost != 0 || res.Forwarded.PacketsPerSecond == 0 {
		t.Errorf("joins %d, tracks %d, lost %d, forwarded %.0f pkt/s; want 2, 4, 0, some", res.Joins.OK,
			res.Received.Tracks, res.Received.Lost, res.Forwarded.PacketsPerSecond)
	}
	if res.Server.CPUs != "0" {
		t.Errorf("server ran on CPUs %q, want it pinned to 0", res.Server.CPUs)
	}
	if res.Server.CPUSeconds <= 0 || res.Server.RSSMiB <= 0 {
		t.Errorf("server figures missing: %+v", res.Server)
	}
	// The server's anonymous RSS is read beside the total on Linux, and
	// is part of it; no relay was asked for.
	if runtime.GOOS == "linux" && (res.Server.AnonMiB <= 0 || res.Server.AnonMiB >= res.Server.RSSMiB || res.Server.AnonBaselineMiB <= 0) {
		t.Errorf("anonymous RSS %.1f MiB (baseline %.1f) with a total of %.1f MiB", res.Server.AnonMiB, res.Server.AnonBaselineMiB, res.Server.RSSMiB)
	}
	if res.Relays || !strings.Contains(out.String(), `"relays": false`) {
		t.Errorf("the result does not say the participants went without relays: relays %v", res.Relays)
	}
	if !strings.Contains(errOut.String(), "measuring") {
		t.Errorf("no progress on stderr: %q", errOut.String())
	}
}

func TestLoadtestSummarizeNeedsFiles(t *testing.T) {
	if err := loadtestCmd([]string{"summarize"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("summarize without files did not fail")
	}
	if err := loadtestCmd([]string{"--n", "0"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "n:") {
		t.Errorf("--n 0: %v", err)
	}
}

// TestLoadtestSoakLeavesNoLeak is the soak's CI size: 10 participants (3
// with camera and microphone) for 30 s in a server process of its own,
// while every 2 s someone leaves, drops and resumes, vanishes, joins and
// closes at once, or turns a camera off or on. After everyone leaves, the
// server's goroutines, open files and live heap must return to within the
// default margins of what they were before anyone joined, within a
// minute (the resume grace of those who vanished is 30 s).
func TestLoadtestSoakLeavesNoLeak(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KAIGI_TEST_AS_KAIGI", "1")
	var out, errOut bytes.Buffer
	err = loadtestCmd([]string{"--scenario", "soak", "--n", "10", "--publishers", "3", "--bitrate", "300000",
		"--window", "30s", "--churn", "2s", "--sample", "5s", "--settle", "60s", "--server-binary", exe, "--json"}, &out, &errOut)
	t.Logf("progress:\n%s", errOut.String())
	var res loadtest.Result
	if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil || res.Soak == nil {
		t.Fatalf("loadtest: %v; no soak result (%v):\n%s", err, jerr, out.String())
	}
	s := res.Soak
	var text bytes.Buffer
	res.WriteText(&text)
	t.Logf("\n%s", text.String())
	if err != nil {
		t.Errorf("loadtest: %v", err)
	}
	if s.Leaked || len(s.Excess) > 0 {
		t.Errorf("the server did not return to its baseline: %v", s.Excess)
	}
	// The figures the verdict rests on are there, and the meeting was one.
	if s.Before.Goroutines == 0 || s.Before.OpenFDs == 0 || s.Before.HeapMiB == 0 || s.Before.RSSMiB == 0 {
		t.Errorf("baseline figures missing: %+v", s.Before)
	}
	if s.Peak.Participants < 10 || s.Peak.Goroutines <= s.Before.Goroutines+10*5 || s.After.Participants != 0 {
		t.Errorf("peak %+v, after %+v: want 10 in the meeting at its height and nobody after", s.Peak, s.After)
	}
	if len(s.Samples) < 3 || s.ForwardedPackets == 0 || s.Expected == 0 {
		t.Errorf("%d samples, %.0f forwarded, %d expected", len(s.Samples), s.ForwardedPackets, s.Expected)
	}
	ch := s.Churn
	if ch.Left == 0 || ch.PublishersLeft == 0 || ch.Vanished == 0 || ch.Abandoned == 0 || ch.Reconnected == 0 || ch.CameraToggles == 0 {
		t.Errorf("not every kind of coming and going happened: %+v", ch)
	}
	if ch.JoinFailed+ch.ReconnectFailed+ch.CameraFailed > 0 || s.NotReceiving > 0 || res.Joins.Failed > 0 {
		t.Errorf("churn %+v; %d not receiving at the end; %d initial joins failed", ch, s.NotReceiving, res.Joins.Failed)
	}
}

// TestLoadtestSecondURL: --second-url reaches the load test's
// configuration, which refuses it without --url.
func TestLoadtestSecondURL(t *testing.T) {
	var out, errOut bytes.Buffer
	err := loadtestCmd([]string{"--second-url", "http://127.0.0.1:1", "--n", "2"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "second node") {
		t.Fatalf("loadtest --second-url without --url: %v, want an error about the second node", err)
	}
}
