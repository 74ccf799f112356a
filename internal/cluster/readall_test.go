package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestClusterReadAllWhileKeysChange: a listing made while some keys are
// rewritten (as heartbeats rewrite the registry's records) holds every
// key. The watcher's end-of-initial-values mark counts messages, and a key
// rewritten after it was read counts again, so the mark could come before
// the keys not yet read: a live node was left out of a listing (WatchGone
// reported it gone; Place and the sweep took it for dead).
func TestClusterReadAllWhileKeysChange(t *testing.T) {
	c := newTestCluster(t)
	a := c.start("a", "eu")
	ctx := ctxT(t)
	js, err := jetstream.New(a.nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "readall", History: 1, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	const keys, changing = 200, 5
	for i := range keys {
		if _, err := kv.Put(ctx, fmt.Sprintf("k%03d", i), []byte("0")); err != nil {
			t.Fatal(err)
		}
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the first keys rewritten again and again, as heartbeats do
		defer wg.Done()
		for i := 0; wctx.Err() == nil; i++ {
			kv.Put(wctx, fmt.Sprintf("k%03d", i%changing), []byte(fmt.Sprint(i)))
		}
	}()
	defer func() { stop(); wg.Wait() }()
	for round := range 30 {
		entries, err := a.readAll(ctx, kv)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != keys {
			t.Fatalf("listing %d holds %d keys, want %d", round, len(entries), keys)
		}
	}
}
