// Package archtest enforces the dependency rules of DESIGN.md §4: only
// internal/store speaks SQL, and capability packages never reach the store
// or the wiring packages.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// imports returns, per package directory under root, the imports of its
// non-test Go files.
func imports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[dir] = append(out[dir], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOnlyStoreSpeaksSQL(t *testing.T) {
	root := "../.."
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	sql := []string{"database/sql", "github.com/jackc/pgx", "modernc.org/sqlite", "github.com/pressly/goose"}
	// Packages that may import internal/store: the store itself and the
	// wiring layers above the capabilities.
	storeUsers := []string{"internal/store", "internal/cli", "internal/server"}
	checked := 0
	for dir, imps := range imports(t, root) {
		rel := strings.TrimPrefix(dir, "../../")
		inStore := rel == "internal/store" || strings.HasPrefix(rel, "internal/store/")
		for _, p := range imps {
			for _, s := range sql {
				if strings.HasPrefix(p, s) && !inStore {
					t.Errorf("%s imports %s: only internal/store speaks SQL", rel, p)
				}
			}
			if p == "zhengzhao/internal/store" || strings.HasPrefix(p, "zhengzhao/internal/store/") {
				if !slices.ContainsFunc(storeUsers, func(u string) bool { return rel == u || strings.HasPrefix(rel, u+"/") }) {
					t.Errorf("%s imports %s: capability packages declare the store interface they need instead", rel, p)
				}
			}
			if (p == "zhengzhao/internal/cli" || p == "zhengzhao/internal/server") && rel != "cmd/zhengzhao" && rel != "internal/cli" {
				t.Errorf("%s imports %s: dependencies point from the wiring down, never up", rel, p)
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked: the walk is broken", checked)
	}
}
