package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/nats-io/nats-server/v2/server"
)

// TestClusterControl: two nodes, each a NATS user with the relay
// permissions and the control subjects docs/operations.md adds
// (kaigi.node.*.control to publish, its own to subscribe). A control
// request from eu2 reaches eu1's handler and its reply comes back; one to
// a node that is not there is ErrNodeUnreachable. Requests eu1 must not
// act on are answered with an error without reaching the handler: an
// unknown operation, a meeting ID that is not one, a reason longer than
// the API allows, a body over MaxControlRequest, a body that is not
// JSON. Holder names the node a meeting is placed on, "" for none.
func TestClusterControl(t *testing.T) {
	perms := func(id string) *server.Permissions {
		p := relayPermissions(id)
		p.Publish.Allow = append(p.Publish.Allow, "kaigi.node.*.control")
		p.Subscribe.Allow = append(p.Subscribe.Allow, ControlSubject(id))
		return p
	}
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: t.TempDir(), NoSigs: true,
		Users: []*server.User{
			{Username: "eu1", Password: "pw1", Permissions: perms("eu1")},
			{Username: "eu2", Password: "pw2", Permissions: perms("eu2")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.SetLoggerV2(natsLogger{quiet()}, false, false, false)
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	start := func(id, pw string) *Node {
		n, err := Start(context.Background(), Options{
			NodeID: id, Region: "eu", NATS: NATS{URLs: []string{"nats://" + id + ":" + pw + "@" + ns.Addr().String()}}, Logger: quiet(),
			Heartbeat: testHeartbeat, NodeTTL: testTTL, SweepEvery: time.Hour,
		})
		if err != nil {
			t.Fatalf("start %s: %v", id, err)
		}
		t.Cleanup(n.Close)
		return n
	}
	eu1, eu2 := start("eu1", "pw1"), start("eu2", "pw2")
	ctx := ctxT(t)
	id := meeting.NewID()

	var handled atomic.Int32
	stop, err := eu1.HandleControl(func(req ControlRequest) ControlReply {
		handled.Add(1)
		return ControlReply{Live: true, Meetings: []LiveMeeting{{ID: req.Meeting, Participants: 3, Locked: req.Locked}}}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	reply, err := eu2.Control(ctx, "eu1", ControlRequest{Op: ControlLock, Meeting: id, Locked: true, Reason: "r", Message: "m"})
	if err != nil || !reply.Live || len(reply.Meetings) != 1 || reply.Meetings[0].ID != id || !reply.Meetings[0].Locked || handled.Load() != 1 {
		t.Fatalf("a lock request: %+v, %v (handled %d)", reply, err, handled.Load())
	}
	if _, err := eu2.Control(ctx, "nobody", ControlRequest{Op: ControlList}); !errors.Is(err, ErrNodeUnreachable) {
		t.Fatalf("a request to a node that is not there: %v, want ErrNodeUnreachable", err)
	}

	for name, req := range map[string]ControlRequest{
		"unknown operation": {Op: "teleport", Meeting: id},
		"target on an end":  {Op: ControlEnd, Meeting: id, Target: "eu2"},
		"target too long":   {Op: ControlMove, Meeting: id, Target: strings.Repeat("a", 129)},
		"not a meeting ID":  {Op: ControlEnd, Meeting: "../x"},
		"no meeting":        {Op: ControlEnd},
		"reason too long":   {Op: ControlLock, Meeting: id, Reason: strings.Repeat("a", 2001)},
	} {
		if _, err := eu2.Control(ctx, "eu1", req); err == nil || !strings.Contains(err.Error(), "bad control request") {
			t.Fatalf("%s: %v, want refused", name, err)
		}
	}
	for name, body := range map[string][]byte{
		"too large":   append([]byte(`{"op":"list","message":"`), append([]byte(strings.Repeat("a", MaxControlRequest)), `"}`...)...),
		"not JSON":    []byte("end " + id),
		"JSON array":  []byte(`["end"]`),
		"empty":       nil,
		"wrong types": []byte(`{"op":"end","meeting":12}`),
	} {
		msg, err := eu2.nc.RequestWithContext(ctx, ControlSubject("eu1"), body)
		var r ControlReply
		if err != nil || json.Unmarshal(msg.Data, &r) != nil || r.Error != "bad control request" {
			t.Fatalf("%s: %v %+v, want refused", name, err, r)
		}
	}
	if handled.Load() != 1 {
		t.Fatalf("the handler was called %d times, want once (the refused requests must not reach it)", handled.Load())
	}

	if node, err := eu2.Holder(ctx, id); err != nil || node != "" {
		t.Fatalf("holder of a meeting placed nowhere: %q, %v", node, err)
	}
	if err := eu1.Claim(ctx, id); err != nil {
		t.Fatal(err)
	}
	if node, err := eu2.Holder(ctx, id); err != nil || node != "eu1" {
		t.Fatalf("holder of a meeting placed on eu1: %q, %v", node, err)
	}
}
