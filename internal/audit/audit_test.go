package audit

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func chain(t *testing.T, n int) []Entry {
	t.Helper()
	var out []Entry
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for i := range n {
		e := Entry{
			Time: start.Add(time.Duration(i) * time.Minute), ActorKind: ActorUser, ActorID: "admin1",
			Action: OrgPolicyChanged, SubjectKind: SubjectOrg, Reason: "policy review",
			Details: map[string]string{"fields": "require2FA", "n": string(rune('a' + i))},
		}
		var prev *Entry
		if i > 0 {
			prev = &out[i-1]
		}
		if err := Seal(&e, prev); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func verify(entries []Entry, head *Head) (Head, error) {
	v := NewVerifier(head)
	for _, e := range entries {
		if err := v.Add(e); err != nil {
			return Head{}, err
		}
	}
	return v.Done()
}

func brokenAt(t *testing.T, err error, seq int64) {
	t.Helper()
	var b *BrokenError
	if !errors.As(err, &b) {
		t.Fatalf("err = %v, want a BrokenError at %d", err, seq)
	}
	if b.Seq != seq {
		t.Fatalf("broken at %d (%s), want %d", b.Seq, b.Reason, seq)
	}
}

func TestChainVerifies(t *testing.T) {
	c := chain(t, 5)
	for i, e := range c {
		if e.Seq != int64(i+1) {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
	}
	if c[0].Prev != (Hash{}) || c[3].Prev != c[2].Hash {
		t.Error("entries are not linked")
	}
	head, err := verify(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 5 || head.Hash != c[4].Hash {
		t.Errorf("head %v, want 5:%v", head, c[4].Hash)
	}
	if _, err := verify(c, &head); err != nil {
		t.Errorf("its own head: %v", err)
	}
	mid := Head{Seq: 2, Hash: c[1].Hash}
	if _, err := verify(c, &mid); err != nil {
		t.Errorf("an earlier head: %v", err)
	}
	if h, err := verify(nil, nil); err != nil || h.Seq != 0 {
		t.Errorf("empty log: %v %v", h, err)
	}
}

// TestTamperingIsNamed changes each field of a middle entry in turn, as
// someone editing the database would, and checks that verification names
// that entry.
func TestTamperingIsNamed(t *testing.T) {
	edits := map[string]func(*Entry){
		"reason":       func(e *Entry) { e.Reason = "policy revieW" },
		"actor":        func(e *Entry) { e.ActorID = "admin2" },
		"action":       func(e *Entry) { e.Action = UserCreated },
		"subject":      func(e *Entry) { e.SubjectID = "x" },
		"time":         func(e *Entry) { e.Time = e.Time.Add(time.Millisecond) },
		"detail value": func(e *Entry) { e.Details = map[string]string{"fields": "require2FB", "n": "c"} },
		"detail added": func(e *Entry) { e.Details = map[string]string{"fields": "require2FA", "n": "c", "x": ""} },
		"hash":         func(e *Entry) { e.Hash[0] ^= 1 },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			c := chain(t, 5)
			edit(&c[2])
			_, err := verify(c, nil)
			brokenAt(t, err, 3)
		})
	}
}

func TestRemovedReorderedTruncated(t *testing.T) {
	c := chain(t, 5)
	removed := append(append([]Entry{}, c[:2]...), c[3:]...)
	_, err := verify(removed, nil)
	brokenAt(t, err, 3)

	swapped := append([]Entry{}, c...)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	_, err = verify(swapped, nil)
	brokenAt(t, err, 2)

	// Cutting the end leaves a valid chain: only a head published earlier
	// shows it.
	if _, err := verify(c[:3], nil); err != nil {
		t.Fatalf("a shorter chain: %v", err)
	}
	head := Head{Seq: 5, Hash: c[4].Hash}
	_, err = verify(c[:3], &head)
	brokenAt(t, err, 5)
}

// TestRewrittenChainCaughtByHead: whoever can write the database can
// re-seal every entry from the one they changed; the chain verifies, but
// not against a head published before.
func TestRewrittenChainCaughtByHead(t *testing.T) {
	c := chain(t, 5)
	published := Head{Seq: 4, Hash: c[3].Hash}
	c[1].Reason = "nothing to see"
	for i := 1; i < len(c); i++ {
		if err := Seal(&c[i], &c[i-1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := verify(c, nil); err != nil {
		t.Fatalf("re-sealed chain: %v", err)
	}
	_, err := verify(c, &published)
	brokenAt(t, err, 4)
}

func TestCanonicalIsUnambiguous(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := Entry{Time: at, ActorKind: ActorOperator, Action: "ab", SubjectKind: SubjectServer, Reason: "c"}
	b := Entry{Time: at, ActorKind: ActorOperator, Action: "a", SubjectKind: SubjectServer, Reason: "bc"}
	if string(a.Canonical()) == string(b.Canonical()) {
		t.Error("moving bytes between fields keeps the encoding")
	}
	d1 := Entry{Time: at, ActorKind: ActorOperator, Action: "x", SubjectKind: SubjectServer, Details: map[string]string{"a": "1", "b": "2"}}
	d2 := d1
	d2.Details = map[string]string{"b": "2", "a": "1"}
	if string(d1.Canonical()) != string(d2.Canonical()) {
		t.Error("the encoding depends on map order")
	}
	d3 := d1
	d3.Details = map[string]string{"a": "1b", "": "2"}
	if string(d1.Canonical()) == string(d3.Canonical()) {
		t.Error("details are ambiguous")
	}
}

func TestValidate(t *testing.T) {
	ok := Entry{Time: time.Now(), ActorKind: ActorUser, ActorID: "u1", Action: UserCreated, SubjectKind: SubjectUser, SubjectID: "u2"}
	if err := Seal(&ok, nil); err != nil {
		t.Fatalf("a good entry: %v", err)
	}
	bad := map[string]func(*Entry){
		"no action":       func(e *Entry) { e.Action = "" },
		"unknown actor":   func(e *Entry) { e.ActorKind = "admin" },
		"user without ID": func(e *Entry) { e.ActorID = "" },
		"unknown subject": func(e *Entry) { e.SubjectKind = "room" },
		"control in ID":   func(e *Entry) { e.SubjectID = "a\nb" },
		"long reason":     func(e *Entry) { e.Reason = strings.Repeat("x", MaxReason+1) },
		"invalid UTF-8":   func(e *Entry) { e.Reason = "\xff" },
		"long detail":     func(e *Entry) { e.Details = map[string]string{"k": strings.Repeat("x", MaxDetailText+1)} },
		"empty key":       func(e *Entry) { e.Details = map[string]string{"": "v"} },
		"no time":         func(e *Entry) { e.Time = time.Time{} },
	}
	for name, edit := range bad {
		e := Entry{Time: time.Now(), ActorKind: ActorUser, ActorID: "u1", Action: UserCreated, SubjectKind: SubjectUser, SubjectID: "u2"}
		edit(&e)
		if err := Seal(&e, nil); err == nil {
			t.Errorf("%s: sealed", name)
		}
	}
	many := map[string]string{}
	for i := range MaxDetails + 1 {
		many[string(rune('a'+i))] = "v"
	}
	e := Entry{Time: time.Now(), ActorKind: ActorSystem, Action: ServerStarted, SubjectKind: SubjectServer, Details: many}
	if err := Seal(&e, nil); err == nil {
		t.Error("too many details sealed")
	}
}

func TestHeadText(t *testing.T) {
	c := chain(t, 2)
	h := Head{Seq: 2, Hash: c[1].Hash}
	back, err := ParseHead(h.String())
	if err != nil || back != h {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for _, s := range []string{"", "2", "2x:" + c[1].Hash.String(), "x:" + c[1].Hash.String(), "2:abcd", "-1:" + c[1].Hash.String()} {
		if _, err := ParseHead(s); err == nil {
			t.Errorf("ParseHead(%q) accepted", s)
		}
	}
}
