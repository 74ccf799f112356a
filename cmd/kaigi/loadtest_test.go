package main

import (
	"bytes"
	"encoding/json"
	"os"
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
