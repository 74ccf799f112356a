package sfu

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestPionLogsKeepTheirFields: a pion logger's messages carry the shared
// logger's attributes and then pion's scope, as slog.Logger.With put them,
// at the levels pionLogs maps pion's to; and making a logger, which pion
// does about twenty times per PeerConnection, costs one small allocation
// and no handler of its own.
func TestPionLogsKeepTheirFields(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})).With("meeting", "m1")
	logs := pionLogs{log: base}
	l := logs.NewLogger("ice")
	l.Error("gone")
	l.Errorf("closed %d", 3)
	l.Warn("not at info")
	l.Infof("nor %s", "this")
	got := buf.String()
	for _, want := range []string{
		`level=INFO msg=gone meeting=m1 pion=ice`,
		`level=INFO msg="closed 3" meeting=m1 pion=ice`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("logged %q, want a line with %q", got, want)
		}
	}
	if strings.Contains(got, "not at info") || strings.Contains(got, "nor this") {
		t.Errorf("pion's warnings and information logged at Info: %q", got)
	}
	if n := strings.Count(got, "\n"); n != 2 {
		t.Errorf("%d lines logged, want 2: %q", n, got)
	}

	buf.Reset()
	debug := pionLogs{log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("peer", "p1")}
	debug.NewLogger("dtls").Warnf("retry %d", 2)
	if want := `"msg":"retry 2","peer":"p1","pion":"dtls"}`; !strings.Contains(buf.String(), want) {
		t.Errorf("logged %q, want %q", buf.String(), want)
	}

	if n := testing.AllocsPerRun(100, func() { _ = logs.NewLogger("srtp") }); n > 1 {
		t.Errorf("NewLogger allocates %v times, want at most 1", n)
	}
}
