package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/config"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// testServer wraps servertest.Server with pion participants.
type testServer struct {
	*servertest.Server
}

func startServer(t *testing.T, adjust func(*config.Config, *signal.Options)) *testServer {
	t.Helper()
	var opts servertest.Options
	if adjust != nil {
		opts.Config = func(c *config.Config) { adjust(c, nil) }
		opts.Signal = func(o *signal.Options) { adjust(&config.Config{}, o) }
	}
	return &testServer{servertest.Start(t, opts)}
}

func (s *testServer) newMeeting(t *testing.T) string { return s.NewMeeting(t) }

// join adds a pion participant that publishes the given sources with
// synthetic media until the test ends.
func (s *testServer) join(t *testing.T, meetingID, name string, publish ...string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Join(ctx, client.Options{BaseURL: s.URL, Meeting: meetingID, Name: name, Publish: publish})
	if err != nil {
		t.Fatalf("%s joins: %v", name, err)
	}
	t.Cleanup(c.Close)
	for _, src := range publish {
		pump(t, c.Local(src))
	}
	return c
}

// pump sends synthetic media on a local track until the test ends.
func pump(t *testing.T, lt *client.LocalTrack) {
	t.Helper()
	cfg := client.AudioPump
	if lt.Source == "camera" || lt.Source == "screen" {
		cfg = client.VideoPump
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		lt.Pump(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// receiving waits until c gets at least n packets of from's source.
func receiving(t *testing.T, c *client.Client, from *client.Client, source string, n uint64) {
	t.Helper()
	id := from.Self().ID
	err := c.WaitFor(waitCtx(t), from.Self().Name+"'s "+source, func() bool {
		rt := c.Track(id, source)
		return rt != nil && rt.Packets() >= n
	})
	if err != nil {
		t.Fatal(err)
	}
}

// joinAs joins with full options; it does not pump media (someone in the
// waiting room has no tracks yet). A refusal is returned, not fatal.
func (s *testServer) joinAs(t *testing.T, opts client.Options) (*client.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts.BaseURL = s.URL
	c, err := client.Join(ctx, opts)
	if err == nil {
		t.Cleanup(c.Close)
	}
	return c, err
}

// mustJoinAs is joinAs that fails the test on refusal.
func (s *testServer) mustJoinAs(t *testing.T, opts client.Options) *client.Client {
	t.Helper()
	c, err := s.joinAs(t, opts)
	if err != nil {
		t.Fatalf("%s joins: %v", opts.Name, err)
	}
	return c
}

// refusedWith checks a join was refused with code.
func refusedWith(t *testing.T, err error, code string) {
	t.Helper()
	var r *client.Refused
	if !errors.As(err, &r) || r.Code != code {
		t.Fatalf("join: %v, want refused %s", err, code)
	}
	if r.Message == "" {
		t.Fatalf("refused %s without a message", code)
	}
}

// lastError waits for the server's latest error message to c and returns
// its code.
func lastError(t *testing.T, c *client.Client, before int) string {
	t.Helper()
	err := c.WaitFor(waitCtx(t), "an error from the server", func() bool { return len(c.Errors()) > before })
	if err != nil {
		t.Fatal(err)
	}
	errs := c.Errors()
	return errs[len(errs)-1].Code
}
