package server_test

import (
	"context"
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
