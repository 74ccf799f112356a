package audit

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type memLog []Entry

func (m memLog) AuditEntries(_ context.Context, after int64, limit int) ([]Entry, error) {
	var out []Entry
	for _, e := range m {
		if e.Seq > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func appendTo(t *testing.T, log *memLog, e Entry) {
	t.Helper()
	var prev *Entry
	if n := len(*log); n > 0 {
		prev = &(*log)[n-1]
	}
	if err := Seal(&e, prev); err != nil {
		t.Fatal(err)
	}
	*log = append(*log, e)
}

// TestReportCounts: counts by action and month, legal requests by kind
// and outcome, over more than one page of entries, from a verified chain;
// a broken chain still gives every count, marked unverified.
func TestReportCounts(t *testing.T) {
	var log memLog
	nov := time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)
	dec := time.Date(2026, 12, 1, 0, 1, 0, 0, time.UTC)
	for i := range 1500 {
		appendTo(t, &log, Entry{Time: dec, ActorKind: ActorSystem, Action: ServerStarted, SubjectKind: SubjectServer, Details: map[string]string{"n": string(rune('a' + i%26))}})
	}
	appendTo(t, &log, Entry{Time: nov, ActorKind: ActorUser, ActorID: "a", Action: MeetingEnded, SubjectKind: SubjectMeeting, SubjectID: "m", Reason: "r"})
	for _, o := range []string{"refused", "refused", "complied"} {
		appendTo(t, &log, Entry{Time: dec, ActorKind: ActorOperator, Action: LegalRequest, SubjectKind: SubjectServer, Details: map[string]string{"kind": "user_data", "outcome": o}})
	}
	rep, err := BuildReport(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verified || rep.Entries != 1504 || rep.Head.Seq != 1504 {
		t.Fatalf("report: verified %v, %d entries, head %v", rep.Verified, rep.Entries, rep.Head)
	}
	if len(rep.Months) != 2 || rep.Months[0].Month != "2026-12" || rep.Months[1].Month != "2026-11" {
		t.Fatalf("months %+v", rep.Months)
	}
	if rep.Months[1].Counts[MeetingEnded] != 1 || rep.Months[0].Counts[ServerStarted] != 1500 || rep.Totals[LegalRequest] != 3 {
		t.Fatalf("counts %+v / totals %+v", rep.Months, rep.Totals)
	}
	if l := rep.Months[0].Legal; l["user_data/refused"] != 2 || l["user_data/complied"] != 1 {
		t.Fatalf("legal requests %v", l)
	}

	log[10].Reason = "edited"
	rep, err = BuildReport(context.Background(), log)
	if err != nil || rep.Verified || rep.Broken == nil || rep.Broken.Seq != 11 || rep.Entries != 1504 || rep.Totals[LegalRequest] != 3 {
		t.Fatalf("broken chain: %v, verified %v, broken %v, %d entries", err, rep.Verified, rep.Broken, rep.Entries)
	}
}

// TestEveryActionPublished: no hidden categories: each Action constant in
// this package is in Published, once.
func TestEveryActionPublished(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	declared := map[Action]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			typ, _ := vs.Type.(*ast.Ident)
			if typ == nil || typ.Name != "Action" {
				return true
			}
			for i := range vs.Names {
				lit := vs.Values[i].(*ast.BasicLit)
				declared[Action(strings.Trim(lit.Value, `"`))] = true
			}
			return true
		})
	}
	if len(declared) < 10 {
		t.Fatalf("found only %d actions: %v", len(declared), declared)
	}
	seen := map[Action]int{}
	for _, p := range Published {
		seen[p.Action]++
		if p.Description == "" {
			t.Errorf("%s has no description", p.Action)
		}
	}
	for a := range declared {
		if seen[a] != 1 {
			t.Errorf("action %s is listed %d times in Published", a, seen[a])
		}
	}
	if len(seen) != len(declared) {
		t.Errorf("Published lists %d actions, %d are declared", len(seen), len(declared))
	}
}
