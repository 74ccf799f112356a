package store

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/auth"
)

// TestEverySealedColumnIsRotated: a key rotation re-seals what
// sealedColumns lists, so every BLOB column of the schema must be listed
// there or in unsealedBlobs, and every Seal call in Kaigi's code must use
// a label of a listed column: a sealed column added without rotation
// fails here.
func TestEverySealedColumnIsRotated(t *testing.T) { eachBackend(t, testEverySealedColumnIsRotated) }

func testEverySealedColumnIsRotated(t *testing.T, s *DB) {
	ctx := context.Background()
	sealed := map[string]bool{}
	for _, c := range sealedColumns {
		sealed[c.table+"."+c.column] = true
	}
	rows, err := s.db.QueryContext(ctx, s.d.pick(`SELECT m.name, p.name, p.type FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' ORDER BY m.name, p.cid`, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	blobs := 0
	for rows.Next() {
		var table, column, typ string
		if err := rows.Scan(&table, &column, &typ); err != nil {
			t.Fatal(err)
		}
		name := table + "." + column
		if !strings.EqualFold(typ, s.d.pick("BLOB", "bytea")) {
			if sealed[name] {
				t.Errorf("%s is listed as sealed but is %s", name, typ)
			}
			continue
		}
		blobs++
		_, plain := unsealedBlobs[name]
		if sealed[name] == plain {
			t.Errorf("BLOB column %s: list it in sealedColumns (keyrotation.go) if it holds a sealed value, else in unsealedBlobs", name)
		}
	}
	if blobs != len(sealedColumns)+len(unsealedBlobs) {
		t.Errorf("the schema has %d BLOB columns; the lists name %d (a listed column no longer exists?)", blobs, len(sealedColumns)+len(unsealedBlobs))
	}

	// The label prefixes the code seals under, as written at each call.
	labels := map[string]string{`"totp:"`: "totp:", "passcodeLabel": passcodeLabel, "webhookSecretLabel": webhookSecretLabel, "SSOSecretLabel": auth.SSOSecretLabel}
	listed := map[string]bool{}
	for _, c := range sealedColumns {
		listed[c.label] = true
	}
	calls := 0
	root := filepath.Join("..", "..")
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "web" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		// keyrotation.go re-seals under the labels it lists.
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || d.Name() == "keyrotation.go" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Seal" || len(call.Args) != 2 {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "audit" {
				return true // the audit chain's Seal, not the key's
			}
			calls++
			label := call.Args[1]
			if bin, ok := label.(*ast.BinaryExpr); ok && bin.Op == token.ADD {
				label = bin.X
			}
			text := string(src[fset.Position(label.Pos()).Offset:fset.Position(label.End()).Offset])
			if prefix, ok := labels[text]; !ok || !listed[prefix] {
				t.Errorf("%s: sealed under label %s, which no column of sealedColumns (keyrotation.go) has: a key rotation would not re-seal it", fset.Position(call.Pos()), text)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 {
		t.Fatalf("found %d Seal calls; the walk missed the code", calls)
	}
}
