package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/client"
	"github.com/kaigi-meet/kaigi/internal/e2ee/e2eetest"
	"github.com/kaigi-meet/kaigi/internal/servertest"
	"github.com/kaigi-meet/kaigi/internal/signal"
)

// e2eeMsg is any e2ee_* message, decoded.
type e2eeMsg struct {
	Type    string
	Create  bool
	Epoch   uint64
	From    string
	Commit  []byte
	Welcome []byte
	Kind    string
	Data    []byte
	Private bool
	Add     []struct {
		Participant string
		KeyPackage  []byte
	}
	Remove []struct {
		Participant string
		KeyPackage  []byte
	}
}

func e2eeMessages(c *client.Client, typ string) []e2eeMsg {
	var out []e2eeMsg
	for _, raw := range c.E2EEMessages() {
		var m e2eeMsg
		json.Unmarshal(raw, &m)
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// awaitE2EE waits until c has received n messages of typ and returns the
// last.
func awaitE2EE(t *testing.T, c *client.Client, typ string, n int) e2eeMsg {
	t.Helper()
	err := c.WaitFor(waitCtx(t), typ, func() bool { return len(e2eeMessages(c, typ)) >= n })
	if err != nil {
		t.Fatal(err)
	}
	ms := e2eeMessages(c, typ)
	return ms[n-1]
}

type relayed struct {
	mu   sync.Mutex
	data [][]byte
}

// TestE2EEDeliveryService drives the delivery service over the real
// protocol with opaque bytes standing in for MLS: who is asked to create
// and commit, one commit per epoch, what goes to whom, and what is refused.
// (Real MLS runs in the browser tests.)
func TestE2EEDeliveryService(t *testing.T) {
	relay := &relayed{}
	srv := &testServer{servertest.Start(t, servertest.Options{Signal: func(o *signal.Options) {
		o.RelayLog = func(_, _, _ string, data []byte) {
			relay.mu.Lock()
			relay.data = append(relay.data, data)
			relay.mu.Unlock()
		}
	}})}
	set := servertest.OpenSettings()
	set.E2EE = true
	id := srv.Admin(t).NewMeeting(t, set).ID

	// Without a key package there is no way in.
	_, err := srv.joinAs(t, client.Options{Meeting: id, Name: "Old client"})
	refusedWith(t, err, "e2ee_required")

	ada := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Ada", KeyPackage: e2eetest.KeyPackage("kp-ada")})
	if j := awaitE2EE(t, ada, "e2ee_job", 1); !j.Create {
		t.Fatalf("first participant's job = %+v, want create", j)
	}
	bob := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Bob", KeyPackage: e2eetest.KeyPackage("kp-bob")})
	j := awaitE2EE(t, ada, "e2ee_job", 2)
	if j.Create || j.Epoch != 0 || len(j.Add) != 1 || j.Add[0].Participant != bob.Self().ID || !bytes.Equal(j.Add[0].KeyPackage, e2eetest.KeyPackage("kp-bob")) {
		t.Fatalf("job to add Bob = %+v", j)
	}
	if len(e2eeMessages(bob, "e2ee_job")) != 0 {
		t.Fatal("Bob, not yet in the group, was asked to commit")
	}
	// Bob is not a member yet: he may not send, nor commit.
	n := len(bob.Errors())
	bob.Control("e2ee_message", map[string]any{"epoch": 0, "kind": "chat", "data": []byte("x")})
	if code := lastError(t, bob, n); code != "e2ee_not_member" {
		t.Fatalf("message from a non-member = %s", code)
	}

	ada.Control("e2ee_commit", map[string]any{"epoch": 0, "commit": []byte("commit-1"), "welcome": []byte("welcome-bob")})
	if ok := awaitE2EE(t, ada, "e2ee_commit_ok", 1); ok.Epoch != 1 {
		t.Fatalf("commit ok = %+v", ok)
	}
	if w := awaitE2EE(t, bob, "e2ee_welcome", 1); w.Epoch != 1 || string(w.Welcome) != "welcome-bob" {
		t.Fatalf("Bob's welcome = %+v", w)
	}
	// The same epoch again is stale.
	n = len(ada.Errors())
	ada.Control("e2ee_commit", map[string]any{"epoch": 0, "commit": []byte("again")})
	if code := lastError(t, ada, n); code != "e2ee_stale" {
		t.Fatalf("second commit on epoch 0 = %s", code)
	}
	// Bob was not asked to commit.
	n = len(bob.Errors())
	bob.Control("e2ee_commit", map[string]any{"epoch": 1, "commit": []byte("rogue")})
	if code := lastError(t, bob, n); code != "e2ee_not_committer" {
		t.Fatalf("uninvited commit = %s", code)
	}

	cy := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Cy", KeyPackage: e2eetest.KeyPackage("kp-cy")})
	j = awaitE2EE(t, ada, "e2ee_job", 3)
	ada.Control("e2ee_commit", map[string]any{"epoch": j.Epoch, "commit": []byte("commit-2"), "welcome": []byte("welcome-cy")})
	if c := awaitE2EE(t, bob, "e2ee_commit", 1); c.Epoch != 2 || c.From != ada.Self().ID || string(c.Commit) != "commit-2" {
		t.Fatalf("relayed commit to Bob = %+v", c)
	}
	awaitE2EE(t, cy, "e2ee_welcome", 1)
	if len(e2eeMessages(cy, "e2ee_commit")) != 0 {
		t.Fatal("Cy got the commit that added him (he needs only the welcome)")
	}

	// Application messages: to everyone but the sender, or to one.
	ciphertext := []byte{0x30, 0x01, 0xff, 0x00, 0x7f}
	bob.Control("e2ee_message", map[string]any{"epoch": 2, "kind": "chat", "data": ciphertext})
	for _, c := range []*client.Client{ada, cy} {
		m := awaitE2EE(t, c, "e2ee_message", 1)
		if m.From != bob.Self().ID || !bytes.Equal(m.Data, ciphertext) || m.Private || m.Kind != "chat" {
			t.Fatalf("relayed message = %+v", m)
		}
	}
	bob.Control("e2ee_message", map[string]any{"epoch": 2, "kind": "chat", "data": []byte("for cy"), "to": cy.Self().ID})
	if m := awaitE2EE(t, cy, "e2ee_message", 2); !m.Private || string(m.Data) != "for cy" {
		t.Fatalf("private message = %+v", m)
	}
	if len(e2eeMessages(bob, "e2ee_message")) != 0 {
		t.Fatal("a sender got its own message back")
	}
	n = len(bob.Errors())
	bob.Control("e2ee_message", map[string]any{"epoch": 2, "kind": "chat", "data": make([]byte, 70<<10)})
	if code := lastError(t, bob, n); code != "e2ee_bad" {
		t.Fatalf("oversized message = %s", code)
	}
	// The relay saw exactly the opaque bytes, nothing more.
	relay.mu.Lock()
	if len(relay.data) != 2 || !bytes.Equal(relay.data[0], ciphertext) {
		t.Fatalf("relay log = %q", relay.data)
	}
	relay.mu.Unlock()

	// Ada leaves: Bob, longest present now, is asked to remove her leaf.
	adaID := ada.Self().ID
	ada.Leave()
	j = awaitE2EE(t, bob, "e2ee_job", 1)
	if len(j.Remove) != 1 || j.Remove[0].Participant != adaID || !bytes.Equal(j.Remove[0].KeyPackage, e2eetest.KeyPackage("kp-ada")) || j.Epoch != 2 {
		t.Fatalf("removal job = %+v", j)
	}
	bob.Control("e2ee_commit", map[string]any{"epoch": 2, "commit": []byte("commit-3")})
	if c := awaitE2EE(t, cy, "e2ee_commit", 1); c.Epoch != 3 {
		t.Fatalf("Cy's view of the removal = %+v", c)
	}
}

// TestE2EEResumeCatchesUp: a member who reconnects is sent the commits it
// missed, in order.
func TestE2EEResumeCatchesUp(t *testing.T) {
	srv, id, ada, bob := e2eeMeetingOfTwo(t)

	token := bob.ResumeToken()
	bob.Drop() // Bob, at epoch 1, loses his connection
	srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Cy", KeyPackage: e2eetest.KeyPackage("kp-cy")})
	j := awaitE2EE(t, ada, "e2ee_job", 3)
	ada.Control("e2ee_commit", map[string]any{"epoch": j.Epoch, "commit": []byte("c2"), "welcome": []byte("w2")})
	awaitE2EE(t, ada, "e2ee_commit_ok", 2)

	back := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Bob", Resume: token})
	if !back.Resumed() {
		t.Fatal("not resumed")
	}
	// Without saying where it is, Bob gets nothing (he would have to
	// rejoin with a fresh key package); saying epoch 1, he gets commit 2.
	if len(e2eeMessages(back, "e2ee_commit")) != 0 {
		t.Fatal("commits sent without knowing the client's epoch")
	}
	token = back.ResumeToken()
	back.Drop()
	raw := srv.dialRaw(t)
	raw.send(map[string]any{"type": "hello", "v": 1, "meeting": id, "name": "Bob", "resume": token, "e2eeEpoch": 1})
	if m := raw.next("candidate", "renegotiate", "participant_updated", "participant_joined"); m.Type != "welcome" {
		t.Fatalf("resume: %+v", m)
	}
	var c e2eeMsg
	for c.Type != "e2ee_commit" {
		c = raw.nextE2EE()
	}
	if c.Epoch != 2 || string(c.Commit) != "c2" {
		t.Fatalf("missed commit = %+v, want epoch 2's", c)
	}
}

// e2eeMeetingOfTwo starts a server with an end-to-end encrypted meeting
// in which Ada created the group and added Bob: both are members, at
// epoch 1.
func e2eeMeetingOfTwo(t *testing.T) (srv *testServer, id string, ada, bob *client.Client) {
	t.Helper()
	srv = startServer(t, nil)
	set := servertest.OpenSettings()
	set.E2EE = true
	id = srv.Admin(t).NewMeeting(t, set).ID
	ada = srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Ada", KeyPackage: e2eetest.KeyPackage("kp-ada")})
	awaitE2EE(t, ada, "e2ee_job", 1)
	bob = srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Bob", KeyPackage: e2eetest.KeyPackage("kp-bob")})
	awaitE2EE(t, ada, "e2ee_job", 2)
	ada.Control("e2ee_commit", map[string]any{"epoch": 0, "commit": []byte("c1"), "welcome": []byte("w")})
	awaitE2EE(t, bob, "e2ee_welcome", 1)
	return srv, id, ada, bob
}

// nextE2EE reads the next message as an e2ee message (others decode with
// an empty Type... and are skipped by the caller).
func (r *rawConn) nextE2EE() e2eeMsg {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := r.conn.Read(ctx)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	var m e2eeMsg
	json.Unmarshal(b, &m)
	return m
}

// TestE2EEMemberInitiatedCommits: members commit on their own, without a
// job, what a hostile server could otherwise withhold: a key update,
// relayed like any commit, and the removal of a participant who left,
// which pre-empts the job the server gave someone else.
func TestE2EEMemberInitiatedCommits(t *testing.T) {
	srv, id, ada, bob := e2eeMeetingOfTwo(t)
	cy := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Cy", KeyPackage: e2eetest.KeyPackage("kp-cy")})
	awaitE2EE(t, ada, "e2ee_job", 3)
	ada.Control("e2ee_commit", map[string]any{"epoch": 1, "commit": []byte("c2"), "welcome": []byte("w2")})
	awaitE2EE(t, cy, "e2ee_welcome", 1)
	awaitE2EE(t, bob, "e2ee_commit", 1)

	// Bob updates his keys on epoch 2, unasked.
	bob.Control("e2ee_commit", map[string]any{"epoch": 2, "commit": []byte("update-bob"), "reason": "update"})
	if ok := awaitE2EE(t, bob, "e2ee_commit_ok", 1); ok.Epoch != 3 {
		t.Fatalf("Bob's update: %+v", ok)
	}
	for _, c := range []struct {
		who *client.Client
		n   int
	}{{ada, 1}, {cy, 1}} {
		if m := awaitE2EE(t, c.who, "e2ee_commit", c.n); m.Epoch != 3 || m.From != bob.Self().ID || string(m.Commit) != "update-bob" {
			t.Fatalf("%s got %+v, want Bob's update", c.who.Self().Name, m)
		}
	}
	// Not again so soon, and never a removal of someone still here.
	n := len(bob.Errors())
	bob.Control("e2ee_commit", map[string]any{"epoch": 3, "commit": []byte("again"), "reason": "update"})
	if code := lastError(t, bob, n); code != "e2ee_too_soon" {
		t.Fatalf("a second update at once = %s", code)
	}
	n = len(cy.Errors())
	cy.Control("e2ee_commit", map[string]any{"epoch": 3, "commit": []byte("oust"), "reason": "remove", "remove": []string{ada.Self().ID}})
	if code := lastError(t, cy, n); code != "e2ee_still_present" {
		t.Fatalf("removing a participant still in the meeting = %s", code)
	}

	// Cy leaves. The server asks Ada to remove him, and she sits on it
	// (as a hostile server might never ask at all); Bob removes Cy himself.
	cyID := cy.Self().ID
	cy.Leave()
	if j := awaitE2EE(t, ada, "e2ee_job", 4); len(j.Remove) != 1 || j.Remove[0].Participant != cyID || j.Epoch != 3 {
		t.Fatalf("job to remove Cy = %+v", j)
	}
	bob.Control("e2ee_commit", map[string]any{"epoch": 3, "commit": []byte("remove-cy"), "reason": "remove", "remove": []string{cyID}})
	if ok := awaitE2EE(t, bob, "e2ee_commit_ok", 2); ok.Epoch != 4 {
		t.Fatalf("Bob's removal of Cy: %+v", ok)
	}
	if m := awaitE2EE(t, ada, "e2ee_commit", 2); m.Epoch != 4 || m.From != bob.Self().ID || string(m.Commit) != "remove-cy" {
		t.Fatalf("Ada got %+v, want Bob's removal of Cy", m)
	}
	// Ada's commit of the job comes too late, and nobody is asked to
	// remove Cy again: anything sent to Ada before the error would have
	// arrived before it.
	n = len(ada.Errors())
	ada.Control("e2ee_commit", map[string]any{"epoch": 3, "commit": []byte("late")})
	if code := lastError(t, ada, n); code != "e2ee_stale" {
		t.Fatalf("the pre-empted job's commit = %s", code)
	}
	if jobs := len(e2eeMessages(ada, "e2ee_job")) + len(e2eeMessages(bob, "e2ee_job")); jobs != 4 {
		t.Fatalf("%d jobs, want no new one after Cy's removal", jobs)
	}
	// Cy is out of the group: nothing more goes to him, and removing him
	// twice is refused.
	n = len(bob.Errors())
	bob.Control("e2ee_commit", map[string]any{"epoch": 4, "commit": []byte("again"), "reason": "remove", "remove": []string{cyID}})
	if code := lastError(t, bob, n); code != "e2ee_not_member" {
		t.Fatalf("removing Cy twice = %s", code)
	}
}

// TestRosterCarriesAccount: a signed-in participant's roster entry names
// their account (clients remember verified keys by it); a guest's has none.
func TestRosterCarriesAccount(t *testing.T) {
	srv := startServer(t, nil)
	host := srv.Admin(t)
	id := host.NewMeeting(t, servertest.OpenSettings()).ID
	srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Host", Cookie: host.Cookie()})

	raw := srv.dialRaw(t)
	raw.send(hello(id, "Guest"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := raw.conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var w struct {
			Type         string
			Self         map[string]any
			Participants []map[string]any
		}
		json.Unmarshal(b, &w)
		if w.Type != "welcome" {
			continue
		}
		if _, ok := w.Self["account"]; ok {
			t.Errorf("the guest has an account: %v", w.Self)
		}
		for _, p := range w.Participants {
			if p["name"] == "Host" && (p["account"] != host.ID || host.ID == "") {
				t.Errorf("the host's entry = %v, want account %q", p, host.ID)
			}
		}
		return
	}
}

// TestE2EEKeyPackageCheckedAtTheBoundary: a hello whose KeyPackage is not
// a valid one is refused (bad_key_package) before it reaches the meeting;
// one the web client made gets in.
func TestE2EEKeyPackageCheckedAtTheBoundary(t *testing.T) {
	srv := startServer(t, nil)
	set := servertest.OpenSettings()
	set.E2EE = true
	id := srv.Admin(t).NewMeeting(t, set).ID
	valid := e2eetest.KeyPackage("kp-ada")
	for name, kp := range map[string][]byte{
		"opaque bytes":  []byte("kp-ada"),
		"trailing byte": append(bytes.Clone(valid), 0),
		"bad signature": append(bytes.Clone(valid[:len(valid)-1]), valid[len(valid)-1]^1),
	} {
		_, err := srv.joinAs(t, client.Options{Meeting: id, Name: "Ada", KeyPackage: kp})
		t.Logf("%s: %v", name, err)
		refusedWith(t, err, "bad_key_package")
	}
	text, err := os.ReadFile("../e2ee/testdata/keypackages/web-guest.b64")
	if err != nil {
		t.Fatal(err)
	}
	web, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil {
		t.Fatal(err)
	}
	ada := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Ada", KeyPackage: web})
	if j := awaitE2EE(t, ada, "e2ee_job", 1); !j.Create {
		t.Fatalf("job %+v, want create", j)
	}
}

// TestE2EEBadKeyPackageFailsAlone: the member adding two joiners cannot use
// one's KeyPackage and says so; the other joins, and the one skipped is
// told to come back with a fresh KeyPackage instead of waiting forever
// (or being counted as a member it is not).
func TestE2EEBadKeyPackageFailsAlone(t *testing.T) {
	srv, id, ada, bob := e2eeMeetingOfTwo(t)
	cy := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Cy", KeyPackage: e2eetest.KeyPackage("kp-cy")})
	if job := awaitE2EE(t, ada, "e2ee_job", 3); len(job.Add) != 1 {
		t.Fatalf("job %+v, want Cy's add", job)
	}
	// While Ada's job for Cy is out, two more join: their Adds come together next.
	bad := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Bad", KeyPackage: e2eetest.KeyPackage("kp-bad")})
	dan := srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Dan", KeyPackage: e2eetest.KeyPackage("kp-dan")})
	ada.Control("e2ee_commit", map[string]any{"epoch": 1, "commit": []byte("c2"), "welcome": []byte("w2")})
	awaitE2EE(t, cy, "e2ee_welcome", 1)
	if job := awaitE2EE(t, ada, "e2ee_job", 4); len(job.Add) != 2 {
		t.Fatalf("job %+v, want two adds", job)
	}
	n := len(bad.Errors())
	ada.Control("e2ee_commit", map[string]any{"epoch": 2, "commit": []byte("c3"), "welcome": []byte("w3"), "skipped": []string{bad.Self().ID}})
	awaitE2EE(t, dan, "e2ee_welcome", 1)
	if code := lastError(t, bad, n); code != "e2ee_key_package" {
		t.Fatalf("the skipped joiner got %s", code)
	}
	if len(e2eeMessages(bad, "e2ee_welcome")) != 0 {
		t.Fatal("the skipped joiner got a Welcome it cannot use")
	}
	awaitE2EE(t, bob, "e2ee_commit", 2)

	// Bad comes back with a fresh KeyPackage; Ada cannot use that one
	// either: a commit that skips every Add changes nothing.
	bad.Close()
	bad = srv.mustJoinAs(t, client.Options{Meeting: id, Name: "Bad", KeyPackage: e2eetest.KeyPackage("kp-bad-2")})
	job := awaitE2EE(t, ada, "e2ee_job", 5)
	if len(job.Add) != 1 || job.Add[0].Participant != bad.Self().ID || job.Epoch != 3 {
		t.Fatalf("job %+v, want the returning joiner's add on epoch 3", job)
	}
	n = len(bad.Errors())
	ada.Control("e2ee_commit", map[string]any{"epoch": 3, "skipped": []string{bad.Self().ID}})
	if code := lastError(t, bad, n); code != "e2ee_key_package" {
		t.Fatalf("the skipped joiner got %s", code)
	}
	if len(e2eeMessages(bob, "e2ee_commit")) != 2 || len(e2eeMessages(ada, "e2ee_commit_ok")) != 3 {
		t.Fatal("a commit that skipped everything was relayed or confirmed")
	}
}
